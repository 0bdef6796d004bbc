package source

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/scope"
)

var (
	configMaps = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	secrets    = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
)

func labeledObjects(t *testing.T) (client.Client, Labeler) {
	t.Helper()
	obj := func(o client.Object, name string, labels map[string]string) client.Object {
		o.SetNamespace("shop")
		o.SetName(name)
		o.SetLabels(labels)
		return o
	}
	c := fake.NewClientBuilder().WithObjects(
		obj(&corev1.ConfigMap{}, "missed", nil),
		obj(&corev1.ConfigMap{}, "labeled", map[string]string{keys.LabelReplication: "prod"}),
		obj(&corev1.ConfigMap{}, "excluded", map[string]string{keys.KeyExclude: "true"}),
		obj(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "u1", Controller: ptr(true)}}}}, "owned", nil),
		obj(&corev1.Secret{Type: corev1.SecretTypeServiceAccountToken}, "token", nil),
		obj(&corev1.Secret{Type: corev1.SecretTypeOpaque}, "creds", nil),
	).Build()
	return c, Labeler{Reader: c, Writer: c, Replication: "prod", Scope: scope.Of(v1alpha1.ResourceSelection{})}
}

func label(t *testing.T, c client.Client, gvk schema.GroupVersionKind, name string) string {
	t.Helper()
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "shop", Name: name}, m); err != nil {
		t.Fatal(err)
	}
	return m.Labels[keys.LabelReplication]
}

// The backfill labels what the scope mirrors and the webhook missed; never what is excluded or
// never mirrored (a service-account token, what a controller owns).
func TestBackfillLabelsWhatTheWebhookMissed(t *testing.T) {
	c, l := labeledObjects(t)
	if n := l.Backfill(context.Background(), []schema.GroupVersionKind{configMaps, secrets}, []string{"shop"}); n != 2 {
		t.Fatalf("labeled %d objects, want the missed ConfigMap and the Opaque Secret", n)
	}
	for gvk, names := range map[schema.GroupVersionKind]map[string]string{
		configMaps: {"missed": "prod", "labeled": "prod", "excluded": "", "owned": ""},
		secrets:    {"creds": "prod", "token": ""},
	} {
		for name, want := range names {
			if got := label(t, c, gvk, name); got != want {
				t.Errorf("%s %s labeled %q, want %q", gvk.Kind, name, got, want)
			}
		}
	}
}

// A copy's source is gone when it is deleted or excluded; one that only lost its label is labeled
// again and is not gone.
func TestGoneConfirmsWithTheSource(t *testing.T) {
	c, l := labeledObjects(t)
	ctx := context.Background()
	for name, want := range map[string]bool{"deleted": true, "excluded": true, "owned": true, "missed": false} {
		gone, err := l.Gone(ctx, configMaps, "shop", name)
		if err != nil || gone != want {
			t.Errorf("%s: gone %v (%v), want %v", name, gone, err, want)
		}
	}
	if label(t, c, configMaps, "missed") != "prod" {
		t.Fatal("a source that lost its label did not get it back")
	}
}

func ptr[T any](v T) *T { return &v }
