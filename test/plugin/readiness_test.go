package plugin

import (
	"context"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

// failoverReady reads the FailoverReady condition of a ClusterReplication.
func failoverReady(ctx context.Context, name string) *metav1.Condition {
	var cr v1alpha1.ClusterReplication
	if err := env.SourceClient.Get(ctx, client.ObjectKey{Name: name}, &cr); err != nil {
		return nil
	}
	return meta.FindStatusCondition(cr.Status.Conditions, v1alpha1.ConditionFailoverReady)
}

var _ = Describe("Failover readiness", func() {
	It("reports what a standby lacks on DR, refuses to promote until it is there, and then is ready", func(ctx context.Context) {
		const name = "ready"
		optIn(ctx, name, nil)
		By("a Deployment reads a ConfigMap excluded from mirroring; a PVC wants a StorageClass DR lacks")
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "app-env", Labels: map[string]string{keys.KeyExclude: "true"}}}
		Expect(env.SourceClient.Create(ctx, cm)).To(Succeed())
		tmpl := podTemplate("web")
		tmpl.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app-env"}}}}
		one := int32(1)
		Expect(env.SourceClient.Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "web"}, Spec: appsv1.DeploymentSpec{
			Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: tmpl}})).To(Succeed())
		fast := "fast-" + name
		Expect(env.SourceClient.Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &fast, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}})).To(Succeed())

		Eventually(func(g Gomega) {
			c := failoverReady(ctx, name)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(v1alpha1.ReasonMissingDependencies))
			g.Expect(c.Message).To(ContainSubstring("ConfigMap ready-dr/app-env on dr (needed by Deployment ready-dr/web)"))
			g.Expect(c.Message).To(ContainSubstring("StorageClass " + fast + " on dr (needed by PersistentVolumeClaim ready-dr/data)"))
		}).WithTimeout(wait).WithPolling(tick).Should(Succeed())
		r := drsyncer(ctx, "status", name)
		Expect(r.code).To(BeZero(), r.err)
		Expect(r.out).To(ContainSubstring("FAILOVER-READY"))
		Expect(r.out).To(ContainSubstring("No (2 missing)"))

		By("promote --dry-run lists what is missing; promote refuses and writes nothing")
		before := allVersions(ctx, name+"-dr")
		r = drsyncer(ctx, "promote", name, "--target", "dr", "--dry-run")
		Expect(r.code).NotTo(BeZero())
		Expect(r.out).To(ContainSubstring("ConfigMap ready-dr/app-env (needed by Deployment ready-dr/web)"))
		Expect(r.out).To(ContainSubstring("StorageClass " + fast + " (needed by PersistentVolumeClaim ready-dr/data)"))
		r = drsyncer(ctx, "promote", name, "--target", "dr")
		Expect(r.code).NotTo(BeZero())
		Expect(r.err).To(ContainSubstring("not ready for failover on dr"))
		Expect(allVersions(ctx, name+"-dr")).To(Equal(before), "a refused promote wrote something")
		var dep appsv1.Deployment
		Expect(env.DRClient.Get(ctx, client.ObjectKey{Namespace: name + "-dr", Name: "web"}, &dep)).To(Succeed())
		Expect(dep.Annotations).NotTo(HaveKey(keys.AnnotationPromoted))

		By("the ConfigMap is mirrored and the platform admin provides the StorageClass: ready")
		Expect(env.DRClient.Create(ctx, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: fast}, Provisioner: "example.com/none"})).To(Succeed())
		cm.Labels = nil
		Expect(env.SourceClient.Update(ctx, cm)).To(Succeed())
		Eventually(func(g Gomega) {
			c := failoverReady(ctx, name)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
		}).WithTimeout(2 * wait).WithPolling(tick).Should(Succeed())
		r = drsyncer(ctx, "promote", name, "--target", "dr", "--dry-run")
		Expect(r.code).To(BeZero(), r.out+r.err)
		Expect(r.out).NotTo(ContainSubstring("not ready"))
		r = drsyncer(ctx, "status", name)
		Expect(strings.Fields(strings.Split(strings.TrimSpace(r.out), "\n")[1])).To(ContainElement("Yes"))
	})
})
