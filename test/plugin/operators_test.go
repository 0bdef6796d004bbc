package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/test/harness"
)

// operatorObject is one object of an operator's kind, and the field its standby form changes.
type operatorObject struct {
	gvk   schema.GroupVersionKind
	spec  map[string]any
	path  []string
	paths string // the resource, for the CRD
}

var operatorObjects = []operatorObject{
	{schema.GroupVersionKind{Group: "keda.sh", Version: "v1", Kind: "ScaledObject"}, map[string]any{"scaleTargetRef": map[string]any{"name": "worker"}},
		[]string{"metadata", "annotations", "autoscaling.keda.sh/paused"}, "scaledobject"},
	{schema.GroupVersionKind{Group: "keda.sh", Version: "v1", Kind: "ScaledJob"}, map[string]any{"pollingInterval": int64(30)},
		[]string{"metadata", "annotations", "autoscaling.keda.sh/paused"}, "scaledjob"},
	{schema.GroupVersionKind{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"}, map[string]any{"path": "./apps", "suspend": false},
		[]string{"spec", "suspend"}, "kustomization"},
	{schema.GroupVersionKind{Group: "helm.toolkit.fluxcd.io", Version: "v1", Kind: "HelmRelease"}, map[string]any{"interval": "5m"},
		[]string{"spec", "suspend"}, "helmrelease"},
	{schema.GroupVersionKind{Group: "s3.aws.upbound.io", Version: "v1", Kind: "Bucket"}, map[string]any{"forProvider": map[string]any{"region": "eu-west-1"}, "managementPolicies": []any{"*"}},
		[]string{"spec", "managementPolicies"}, "bucket"},
	{schema.GroupVersionKind{Group: "argoproj.io", Version: "v1", Kind: "Application"}, map[string]any{"syncPolicy": map[string]any{"automated": map[string]any{"prune": true}}},
		[]string{"spec", "syncPolicy", "automated"}, "application"},
}

// fieldOf is the value of a field as text, "(none)" when absent.
func fieldOf(ctx context.Context, c client.Client, gvk schema.GroupVersionKind, ns string, path []string) string {
	GinkgoHelper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "op"}, u)).To(Succeed())
	v, found, _ := unstructured.NestedFieldCopy(u.Object, path...)
	if !found {
		return "(none)"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var _ = Describe("Operators' kinds on standby", func() {
	It("mirrors KEDA, Flux, Crossplane and Argo CD objects in their standby form, which promote undoes and demote redoes", func(ctx context.Context) {
		const name = "operators"
		for _, o := range operatorObjects {
			for _, c := range []client.Client{env.SourceClient, env.DRClient} {
				crd := harness.CRD(o.gvk.Group, o.paths, o.gvk.Kind)
				if err := c.Create(ctx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
					Expect(err).NotTo(HaveOccurred())
				}
				Eventually(func(g Gomega) {
					var got apiextensionsv1.CustomResourceDefinition
					g.Expect(c.Get(ctx, client.ObjectKeyFromObject(crd), &got)).To(Succeed())
					g.Expect(got.Status.AcceptedNames.Kind).To(Equal(o.gvk.Kind))
				}).WithTimeout(wait).Should(Succeed())
			}
		}
		optIn(ctx, name, func(cr *v1alpha1.ClusterReplication) {
			// Custom resources are labeled by the periodic backfill (the labeling webhook covers
			// the built-in kinds): a short interval gets them mirrored within the test.
			cr.Spec.Drift.Interval = &metav1.Duration{Duration: 10 * time.Second}
			for _, o := range operatorObjects {
				cr.Spec.Resources.Include = append(cr.Spec.Resources.Include, v1alpha1.GroupKind{Group: o.gvk.Group, Kind: o.gvk.Kind})
			}
		})
		source := map[string]string{}
		for _, o := range operatorObjects {
			u := &unstructured.Unstructured{Object: map[string]any{"spec": o.spec}}
			u.SetGroupVersionKind(o.gvk)
			u.SetNamespace(name)
			u.SetName("op")
			Eventually(func() error { return env.SourceClient.Create(ctx, u) }).WithTimeout(wait).Should(Succeed())
			source[o.gvk.Kind] = fieldOf(ctx, env.SourceClient, o.gvk, name, o.path)
		}

		By("each copy stands by: paused, suspended, observe-only, not synced automatically")
		standby := map[string]string{}
		Eventually(func(g Gomega) {
			for _, o := range operatorObjects {
				u := &unstructured.Unstructured{}
				u.SetGroupVersionKind(o.gvk)
				g.Expect(env.DRClient.Get(ctx, client.ObjectKey{Namespace: name + "-dr", Name: "op"}, u)).To(Succeed(), o.gvk.Kind)
			}
		}).WithTimeout(2 * wait).WithPolling(tick).Should(Succeed())
		for _, o := range operatorObjects {
			standby[o.gvk.Kind] = fieldOf(ctx, env.DRClient, o.gvk, name+"-dr", o.path)
		}
		Expect(standby).To(Equal(map[string]string{"ScaledObject": `"true"`, "ScaledJob": `"true"`, "Kustomization": "true", "HelmRelease": "true",
			"Bucket": `["Observe"]`, "Application": "(none)"}))

		By("promote gives every copy the source's value back")
		r := drsyncer(ctx, "promote", name, "--target", "dr")
		Expect(r.code).To(BeZero(), r.out+r.err)
		for _, o := range operatorObjects {
			Expect(fieldOf(ctx, env.DRClient, o.gvk, name+"-dr", o.path)).To(Equal(source[o.gvk.Kind]), fmt.Sprintf("%s %s", o.gvk.Kind, strings.Join(o.path, ".")))
		}

		By("demote puts every copy back on standby")
		r = drsyncer(ctx, "demote", name, "--target", "dr")
		Expect(r.code).To(BeZero(), r.out+r.err)
		for _, o := range operatorObjects {
			Expect(fieldOf(ctx, env.DRClient, o.gvk, name+"-dr", o.path)).To(Equal(standby[o.gvk.Kind]), o.gvk.Kind)
		}
	})
})
