package source

import (
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// A kind's informer is stopped once the last replication that included it has narrowed its kinds
// or gone for the grace period, and only then; a kind claimed again within it is kept.
func TestSourceKindsStopWhatNoReplicationUsesForAWhile(t *testing.T) {
	cm, secret := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
	widget := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
	const grace = time.Minute
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	type step struct {
		at    time.Duration // since t0
		ref   string
		kinds []schema.GroupVersionKind
		stops []schema.GroupVersionKind // swept right after the step
	}
	steps := []step{
		{at: 0, ref: "prod", kinds: []schema.GroupVersionKind{cm, secret, widget}},
		{at: 0, ref: "shop/app", kinds: []schema.GroupVersionKind{cm, widget}},
		{at: time.Second, ref: "prod", kinds: []schema.GroupVersionKind{cm}},               // secret idle; widget: shop/app still
		{at: 30 * time.Second, ref: "shop/app"},                                            // gone: widget idle, cm: prod still
		{at: 61 * time.Second, ref: "unknown", stops: []schema.GroupVersionKind{secret}},   // secret idle a minute
		{at: 80 * time.Second, ref: "prod", kinds: []schema.GroupVersionKind{cm, widget}},  // widget claimed again in time
		{at: 200 * time.Second, ref: "prod", kinds: []schema.GroupVersionKind{cm, widget}}, // nothing idle
		{at: 201 * time.Second, ref: "prod"},                                               // gone
		{at: 260 * time.Second, ref: "unknown"},                                            // not yet a minute
		{at: 262 * time.Second, ref: "unknown", stops: []schema.GroupVersionKind{cm, widget}},
		{at: 400 * time.Second, ref: "unknown"}, // stopped once only
	}
	k := newKindUsers()
	for i, s := range steps {
		now := t0.Add(s.at)
		k.use(s.ref, s.kinds, now)
		var stopped []schema.GroupVersionKind
		k.sweep(now, grace, func(gvk schema.GroupVersionKind) { stopped = append(stopped, gvk) })
		slices.SortFunc(stopped, func(a, b schema.GroupVersionKind) int { return strings.Compare(a.String(), b.String()) })
		if !slices.Equal(stopped, s.stops) {
			t.Fatalf("step %d (%s uses %v at +%s): stopped %v, want %v", i, s.ref, s.kinds, s.at, stopped, s.stops)
		}
	}
	if len(k.byRef) != 0 || len(k.idleSince) != 0 {
		t.Fatalf("replications that are gone or kinds that are stopped are remembered: %v %v", k.byRef, k.idleSince)
	}
}
