package integration

import (
	"context"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/test/harness"
)

func serverVersion(cfg *rest.Config) *version.Info {
	GinkgoHelper()
	d, err := discovery.NewDiscoveryClientForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	info, err := d.ServerVersion()
	Expect(err).NotTo(HaveOccurred())
	return info
}

func minorOf(info *version.Info) int {
	m, _ := strconv.Atoi(strings.TrimRight(info.Minor, "+"))
	return m
}

// Run by make test with both planes on the current version, and by make test-skew with DR, then
// the source, on the oldest supported minor.
var _ = Describe("Version skew", Label("skew"), func() {
	It("says that the DR cluster's version is inside the supported window", func(ctx context.Context) {
		dr := serverVersion(env.DRConfig)
		Eventually(func(g Gomega) {
			var rc v1alpha1.RemoteCluster
			g.Expect(env.SourceClient.Get(ctx, client.ObjectKey{Name: harness.RemoteClusterName}, &rc)).To(Succeed())
			c := meta.FindStatusCondition(rc.Status.Conditions, v1alpha1.ConditionVersionSkew)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Message).To(ContainSubstring(dr.GitVersion + " is inside the supported window"))
		}).WithTimeout(wait).WithPolling(tick).Should(Succeed())
	})

	It("never lets a field the DR cluster drops go silently", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, nil)
		createSized(ctx, ns.Name)
		dr := serverVersion(env.DRConfig)
		if minorOf(dr) >= 34 {
			Eventually(func(g Gomega) {
				var copy appsv1.Deployment
				g.Expect(drGet(ctx, drNS, "sized", &copy)).To(Succeed())
				g.Expect(copy.Spec.Template.Spec.Resources).NotTo(BeNil())
			}).WithTimeout(wait).WithPolling(tick).Should(Succeed())
			return
		}
		Eventually(func(g Gomega) {
			st := crStatus(ctx, cr.Name)
			g.Expect(firstTarget(st).Problems).To(ContainElement(And(HaveField("Name", "sized"),
				HaveField("Message", ContainSubstring("spec.template.spec.resources is not kept by dr ("+dr.GitVersion+")")))))
			g.Expect(meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady)).To(BeFalse())
		}).WithTimeout(wait).WithPolling(tick).Should(Succeed())
	})

	It("accepts what the DR cluster drops with transforms.dropUnknownFields, and lists it", func(ctx context.Context) {
		dr := serverVersion(env.DRConfig)
		if minorOf(dr) >= 34 {
			Skip("DR (" + dr.GitVersion + ") keeps pod-level resources: nothing is dropped")
		}
		ns, cr, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) {
			cr.Spec.Targets[0].Transforms = &v1alpha1.Transforms{DropUnknownFields: true}
		})
		createSized(ctx, ns.Name)
		Eventually(func(g Gomega) {
			var copy appsv1.Deployment
			g.Expect(drGet(ctx, drNS, "sized", &copy)).To(Succeed())
			st := crStatus(ctx, cr.Name)
			g.Expect(firstTarget(st).Problems).To(ContainElement(And(HaveField("Reason", "FieldDropped"),
				HaveField("Message", ContainSubstring("spec.template.spec.resources is not kept by dr ("+dr.GitVersion+")")))))
			g.Expect(meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady)).To(BeTrue())
		}).WithTimeout(wait).WithPolling(tick).Should(Succeed())
	})
})

// createSized creates a Deployment with pod-level resources (beta and on from v1.34, alpha and off
// in v1.33, whose API drops them), or skips when the source itself does not keep them.
func createSized(ctx context.Context, ns string) {
	GinkgoHelper()
	one := int32(1)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sized"}, Spec: appsv1.DeploymentSpec{
		Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "sized"}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "sized"}}, Spec: corev1.PodSpec{
			Resources:  &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}},
			Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}}}
	Expect(env.SourceClient.Create(ctx, dep)).To(Succeed())
	if dep.Spec.Template.Spec.Resources == nil {
		Skip("the source (" + serverVersion(env.SourceConfig).GitVersion + ") does not keep pod-level resources itself")
	}
}
