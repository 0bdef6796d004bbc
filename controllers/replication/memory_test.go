package replication

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/drsyncer/dr-syncer/pkg/clusters"
	"github.com/drsyncer/dr-syncer/pkg/mirror"
)

// A reconnect (a changed Secret, a new identity) gives a cluster a new ID: nothing remembered
// under the old one is kept, and other clusters' entries are left alone.
func TestMemoryForgetsAPreviousConnection(t *testing.T) {
	m := newMemory()
	old, other := &clusters.Cluster{Name: "dr", ID: "dr#1"}, &clusters.Cluster{Name: "dr2", ID: "dr2#2"}
	m.observe(old)
	m.observe(other)
	ctx := context.Background()
	dr := fake.NewClientBuilder().Build()
	must(t, m.namespaces.Ensure(ctx, dr, "dr#1", namespace("shop-dr")))
	m.copies.Begin("prod", "dr#1").Put("/ConfigMap/shop-dr/a", mirror.CopyState{LiveVersion: "5"})
	must(t, m.namespaces.Ensure(ctx, fake.NewClientBuilder().Build(), "dr2#2", namespace("shop-dr")))
	m.copies.Begin("prod", "dr2#2").Put("/ConfigMap/shop-dr/a", mirror.CopyState{LiveVersion: "7"})

	m.observe(old) // the same connection: nothing forgotten
	if m.copies.Size() != 2 || m.namespaces.Len() != 2 {
		t.Fatalf("the same connection forgot entries: %d copies, %d namespaces", m.copies.Size(), m.namespaces.Len())
	}
	m.observe(&clusters.Cluster{Name: "dr", ID: "dr#3"})
	if _, ok := m.copies.Begin("prod", "dr#1").Get("/ConfigMap/shop-dr/a"); ok || m.namespaces.Created("dr#1", "shop-dr") || m.namespaces.Len() != 1 {
		t.Fatal("entries of the previous connection survived a reconnect")
	}
	if _, ok := m.copies.Begin("prod", "dr2#2").Get("/ConfigMap/shop-dr/a"); !ok || !m.namespaces.Created("dr2#2", "shop-dr") {
		t.Fatal("another cluster's entries were forgotten")
	}
}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
