package integration

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/pkg/source"
	"github.com/drsyncer/dr-syncer/pkg/transform"
	"github.com/drsyncer/dr-syncer/test/harness"
)

var _ = Describe("Reading source content as protobuf", func() {
	It("gives every default kind the same copy and hash as a JSON LIST does", func(ctx context.Context) {
		ns := createNamespace(ctx, "protoread", nil, nil).Name
		objs := harness.EveryDefaultKind(ns)
		for _, o := range objs {
			Expect(env.SourceClient.Create(ctx, o)).To(Succeed(), "%T", o)
		}
		version, err := discovery.NewDiscoveryClientForConfig(env.SourceConfig)
		Expect(err).NotTo(HaveOccurred())
		typed := &source.Reader{Reader: env.SourceClient, Version: version}
		for _, o := range objs {
			gvk, err := env.SourceClient.GroupVersionKindFor(o)
			Expect(err).NotTo(HaveOccurred())
			list := func(r client.Reader) []unstructured.Unstructured {
				l := &unstructured.UnstructuredList{}
				l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
				ExpectWithOffset(1, r.List(ctx, l, client.InNamespace(ns))).To(Succeed())
				return l.Items
			}
			fromJSON, fromProto := list(env.SourceClient), list(typed)
			// A namespace gets a default ServiceAccount and a root CA ConfigMap: compare them too.
			Expect(fromProto).To(HaveLen(len(fromJSON)), gvk.Kind)
			for i := range fromJSON {
				// What must not depend on the path is the copy: raw, a StatefulSet's claim templates
				// carry apiVersion and kind in JSON only (the transform drops them).
				opts := transform.Options{SourceCluster: "source", Replication: "r", TargetNamespace: ns + "-dr"}
				a, errA := transform.Desired(&fromJSON[i], opts)
				b, errB := transform.Desired(&fromProto[i], opts)
				Expect(errA).NotTo(HaveOccurred())
				Expect(errB).NotTo(HaveOccurred())
				Expect(equality.Semantic.DeepEqual(a.Object, b.Object)).To(BeTrue(),
					"the copy of %s %s differs:\nfrom JSON:  %v\nfrom proto: %v", gvk.Kind, a.GetName(), a.Object, b.Object)
				Expect(a.GetAnnotations()[keys.AnnotationSpecHash]).To(Equal(b.GetAnnotations()[keys.AnnotationSpecHash]), fmt.Sprintf("%s %s", gvk.Kind, a.GetName()))
			}
		}
	})
})
