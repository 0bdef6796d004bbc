package mirror

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/drsyncer/dr-syncer/api/keys"
)

func ns(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// A namespace is created once per connection; one that existed is used, and not taken for
// dr-syncer's; a forgotten one is created again.
func TestNamespacesEnsure(t *testing.T) {
	creates := 0
	c := fake.NewClientBuilder().WithObjects(ns("theirs")).WithInterceptorFuncs(interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			creates++
			return c.Create(ctx, obj, opts...)
		}}).Build()
	n := NewNamespaces()
	ctx := context.Background()
	for range 2 {
		for _, name := range []string{"shop-dr", "theirs"} {
			if err := n.Ensure(ctx, c, "dr#1", ns(name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if creates != 2 || !n.Created("dr#1", "shop-dr") || n.Created("dr#1", "theirs") || n.Len() != 2 {
		t.Fatalf("%d creates, created %v/%v, %d known", creates, n.Created("dr#1", "shop-dr"), n.Created("dr#1", "theirs"), n.Len())
	}
	n.Forget("dr#1", "shop-dr")
	if err := c.Delete(ctx, ns("shop-dr")); err != nil {
		t.Fatal(err)
	}
	if err := n.Ensure(ctx, c, "dr#1", ns("shop-dr")); err != nil || creates != 3 || !n.Created("dr#1", "shop-dr") {
		t.Fatalf("a forgotten namespace is not created again: %v, %d creates", err, creates)
	}
	n.ForgetConnection("dr#1")
	if n.Len() != 0 {
		t.Fatal("a previous connection's namespaces are remembered")
	}
}

// A replication's live copies are its own: copies another replication owns are not, whatever
// their label says.
func TestLiveCopies(t *testing.T) {
	copyOf := func(name, owner string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop-dr", Name: name,
			Labels:      map[string]string{keys.LabelManagedBy: keys.ManagedByValue, keys.LabelReplication: "prod"},
			Annotations: map[string]string{keys.AnnotationOwner: owner}}}
	}
	other := copyOf("other", "ClusterReplication/prod")
	other.Labels[keys.LabelReplication] = "other"
	c := fake.NewClientBuilder().WithObjects(copyOf("mine", "ClusterReplication/prod"), copyOf("theirs", "Replication/shop/prod"), other).Build()
	live, err := LiveCopies(context.Background(), c, configMaps, []string{"shop-dr"}, "prod", "ClusterReplication/prod")
	if err != nil || len(live) != 1 || live["shop-dr/mine"] == nil || live["shop-dr/mine"].GroupVersionKind() != configMaps {
		t.Fatalf("live copies %v (%v), want shop-dr/mine only, with its kind", live, err)
	}
}
