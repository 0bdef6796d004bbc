package integration

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

// selectedWeb creates, in ns, a Deployment labeled app=web that reads ConfigMap web-env and
// Secret web-creds, neither labeled app=web; the Secret is excluded on purpose.
func selectedWeb(ctx context.Context, ns string) {
	GinkgoHelper()
	Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-env"}, Data: map[string]string{"mode": "prod"}})).To(Succeed())
	Expect(env.SourceClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-creds", Labels: map[string]string{keys.KeyExclude: "true"}},
		StringData: map[string]string{"password": "x"}})).To(Succeed())
	Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unrelated"}})).To(Succeed())
	one := int32(1)
	Expect(env.SourceClient.Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web", Labels: map[string]string{"app": "web"}},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "web", Image: "nginx",
				EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-env"}}}},
				Env: []corev1.EnvVar{{Name: "P", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "web-creds"}, Key: "password"}}}},
			}}}}}})).To(Succeed())
}

var _ = Describe("Dependencies of selected workloads", func() {
	selectWeb := func(policy v1alpha1.DependencyPolicy) func(*v1alpha1.ClusterReplication) {
		return func(cr *v1alpha1.ClusterReplication) {
			cr.Spec.Resources.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
			cr.Spec.Resources.Dependencies = policy
		}
	}

	It("follow the workload past resources.selector by default, but never what is excluded on purpose", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, selectWeb(""))
		selectedWeb(ctx, ns.Name)
		eventuallyOnDR(ctx, drNS, "web", &appsv1.Deployment{})
		eventuallyOnDR(ctx, drNS, "web-env", &corev1.ConfigMap{})
		Eventually(func(g Gomega) {
			st := firstTarget(crStatus(ctx, cr.Name))
			g.Expect(st.Dependencies).To(Equal(int32(1)))
			g.Expect(st.Synced).To(Equal(int32(2)))
		}).WithTimeout(wait).WithPolling(tick).Should(Succeed())
		Consistently(func() bool {
			return apierrors.IsNotFound(drGet(ctx, drNS, "web-creds", &corev1.Secret{})) && apierrors.IsNotFound(drGet(ctx, drNS, "unrelated", &corev1.ConfigMap{}))
		}).WithTimeout(2*time.Second).Should(BeTrue(), "an excluded Secret or an unreferenced ConfigMap was mirrored")
		Expect(crStatus(ctx, cr.Name).Conditions).To(ContainElement(And(HaveField("Type", v1alpha1.ConditionFailoverReady),
			HaveField("Status", metav1.ConditionFalse), HaveField("Message", ContainSubstring("Secret "+drNS+"/web-creds")))),
			"the excluded Secret the Deployment needs is a failover blocker")
	})

	It("stay behind with dependencies Ignore", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, selectWeb(v1alpha1.DependenciesIgnore))
		selectedWeb(ctx, ns.Name)
		eventuallyOnDR(ctx, drNS, "web", &appsv1.Deployment{})
		Eventually(func() int32 { return firstTarget(crStatus(ctx, cr.Name)).Synced }).WithTimeout(wait).Should(Equal(int32(1)))
		Consistently(func() bool { return apierrors.IsNotFound(drGet(ctx, drNS, "web-env", &corev1.ConfigMap{})) }).
			WithTimeout(2*time.Second).Should(BeTrue(), "with Ignore, only what the selector matches is mirrored")
		Expect(firstTarget(crStatus(ctx, cr.Name)).Dependencies).To(BeZero())
	})
})
