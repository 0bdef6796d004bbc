package replication

import (
	"context"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// sourceKinds are the kinds whose source informers the replications use, and who uses each. An
// informer holds a watch on the source API server and every labeled object of its kind in memory,
// so the informer of a kind that no replication includes any more is stopped.
type sourceKinds struct {
	// mu also orders a replication starting to use a kind before its informer is fetched against
	// the stop of that informer: a kind is never stopped under a pass that has just claimed it.
	mu    sync.Mutex
	byRef map[string][]schema.GroupVersionKind
}

func newSourceKinds() *sourceKinds {
	return &sourceKinds{byRef: map[string][]schema.GroupVersionKind{}}
}

// use records that ref's passes gather kinds (none: ref is gone) and calls stop, under the lock,
// for each kind that ref used before and no replication uses now.
func (k *sourceKinds) use(ref string, kinds []schema.GroupVersionKind, stop func(schema.GroupVersionKind)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	before := k.byRef[ref]
	if len(kinds) == 0 {
		delete(k.byRef, ref)
	} else {
		k.byRef[ref] = slices.Clone(kinds)
	}
	for _, gvk := range before {
		if !slices.Contains(kinds, gvk) && !k.used(gvk) {
			stop(gvk)
		}
	}
}

func (k *sourceKinds) used(gvk schema.GroupVersionKind) bool {
	for _, kinds := range k.byRef {
		if slices.Contains(kinds, gvk) {
			return true
		}
	}
	return false
}

// useSourceKinds records the kinds a replication's pass gathers (nil when it is gone) and stops
// the source informers no replication needs any more.
func (r *Reconciler) useSourceKinds(ctx context.Context, ref string, kinds []schema.GroupVersionKind) {
	r.mem.sourceKinds.use(ref, kinds, func(gvk schema.GroupVersionKind) {
		probe := &metav1.PartialObjectMetadata{}
		probe.SetGroupVersionKind(gvk)
		if err := r.SourceCache.RemoveInformer(ctx, probe); err != nil {
			logf.FromContext(ctx).Error(err, "cannot stop the source informer of a kind no replication includes", "kind", gvk.String())
			return
		}
		r.mem.mu.Lock()
		// A replication that includes the kind again starts a new informer and needs its handler.
		delete(r.mem.watchingSource, gvk.GroupKind().String())
		r.mem.mu.Unlock()
		logf.FromContext(ctx).V(1).Info("stopped the source informer of a kind no replication includes", "kind", gvk.String())
	})
}
