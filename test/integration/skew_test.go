package integration

import (
	"context"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1helpers "k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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

// sprocketCRD serves Sprocket at the given versions (the first is the storage version).
func sprocketCRD(versions ...string) *apiextensionsv1.CustomResourceDefinition {
	crd := harness.CRD("example.com", "sprocket", "Sprocket")
	crd.Spec.Versions = nil
	preserve := true
	for i, v := range versions {
		crd.Spec.Versions = append(crd.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{Name: v, Served: true, Storage: i == 0,
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}}})
	}
	return crd
}

var _ = Describe("A kind served at another version on DR", Label("skew"), func() {
	It("is written at the version DR serves, read from the source at that version", func(ctx context.Context) {
		installCRD(ctx, env.SourceClient, sprocketCRD("v1", "v1beta1"))
		installCRD(ctx, env.DRClient, sprocketCRD("v1beta1"))
		ns, _, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) {
			cr.Spec.Resources.Include = []v1alpha1.GroupKind{{Group: "example.com", Kind: "Sprocket"}}
			cr.Spec.Drift.Interval = &metav1.Duration{Duration: 10 * time.Second} // custom resources are labeled by the backfill
		})
		sp := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Sprocket",
			"metadata": map[string]any{"name": "gear", "namespace": ns.Name}, "spec": map[string]any{"teeth": int64(12)}}}
		Eventually(func() error { return env.SourceClient.Create(ctx, sp) }).WithTimeout(wait).Should(Succeed())
		Eventually(func(g Gomega) {
			copy := &unstructured.Unstructured{}
			copy.SetAPIVersion("example.com/v1beta1")
			copy.SetKind("Sprocket")
			g.Expect(drGet(ctx, drNS, "gear", copy)).To(Succeed())
			teeth, _, _ := unstructured.NestedInt64(copy.Object, "spec", "teeth")
			g.Expect(teeth).To(Equal(int64(12)))
		}).WithTimeout(2 * wait).WithPolling(tick).Should(Succeed())
	})
})

// installCRD creates a CRD and waits until it is served.
func installCRD(ctx context.Context, c client.Client, crd *apiextensionsv1.CustomResourceDefinition) {
	GinkgoHelper()
	Expect(c.Create(ctx, crd)).To(Succeed())
	Eventually(func(g Gomega) {
		var got apiextensionsv1.CustomResourceDefinition
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(crd), &got)).To(Succeed())
		g.Expect(apiextensionsv1helpers.IsCRDConditionTrue(&got, apiextensionsv1.Established)).To(BeTrue())
	}).WithTimeout(wait).WithPolling(tick).Should(Succeed())
}
