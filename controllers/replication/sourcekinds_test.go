package replication

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// A kind's informer is stopped when the last replication that included it narrows its kinds or
// goes, and only then.
func TestSourceKindsStopWhatNoReplicationUses(t *testing.T) {
	cm, secret := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
	widget := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
	type step struct {
		ref   string
		kinds []schema.GroupVersionKind
		stops []schema.GroupVersionKind
	}
	steps := []step{
		{ref: "prod", kinds: []schema.GroupVersionKind{cm, secret, widget}},
		{ref: "shop/app", kinds: []schema.GroupVersionKind{cm, widget}},
		{ref: "prod", kinds: []schema.GroupVersionKind{cm, secret, widget}},                           // the same kinds again
		{ref: "prod", kinds: []schema.GroupVersionKind{cm}, stops: []schema.GroupVersionKind{secret}}, // widget: shop/app still
		{ref: "shop/app", stops: []schema.GroupVersionKind{widget}},                                   // gone; cm: prod still
		{ref: "unknown"}, // gone, never used anything
		{ref: "prod", stops: []schema.GroupVersionKind{cm}},
	}
	k := newSourceKinds()
	for i, s := range steps {
		var stopped []schema.GroupVersionKind
		k.use(s.ref, s.kinds, func(gvk schema.GroupVersionKind) { stopped = append(stopped, gvk) })
		if !reflect.DeepEqual(stopped, s.stops) {
			t.Fatalf("step %d (%s uses %v): stopped %v, want %v", i, s.ref, s.kinds, stopped, s.stops)
		}
	}
	if len(k.byRef) != 0 {
		t.Fatalf("replications that are gone are remembered: %v", k.byRef)
	}
}
