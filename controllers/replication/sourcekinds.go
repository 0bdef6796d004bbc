package replication

import (
	"context"
	"slices"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// sourceKinds are the kinds whose source informers the replications use, and who uses each. An
// informer holds a watch on the source API server and every labeled object of its kind in memory,
// so the informer of a kind that no replication has included for a while is stopped. Not at once:
// a replication re-created or edited back reuses the watch, and every stop costs a little (the
// metadata informer's watch filter can leave a goroutine behind, kubernetes#113254).
type sourceKinds struct {
	// mu also orders a replication claiming a kind before its informer is fetched against the
	// stop of that informer: a kind is never stopped under a pass that has just claimed it.
	mu        sync.Mutex
	byRef     map[string][]schema.GroupVersionKind
	idleSince map[schema.GroupVersionKind]time.Time
}

func newSourceKinds() *sourceKinds {
	return &sourceKinds{byRef: map[string][]schema.GroupVersionKind{}, idleSince: map[schema.GroupVersionKind]time.Time{}}
}

// use records that ref's passes gather kinds (none: ref is gone); the kinds ref used before and
// no replication uses now are idle from now on.
func (k *sourceKinds) use(ref string, kinds []schema.GroupVersionKind, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	before := k.byRef[ref]
	if len(kinds) == 0 {
		delete(k.byRef, ref)
	} else {
		k.byRef[ref] = slices.Clone(kinds)
	}
	for _, gvk := range kinds {
		delete(k.idleSince, gvk)
	}
	for _, gvk := range before {
		if _, idle := k.idleSince[gvk]; !idle && !k.used(gvk) {
			k.idleSince[gvk] = now
		}
	}
}

// sweep calls stop, under the lock, for each kind idle for at least grace.
func (k *sourceKinds) sweep(now time.Time, grace time.Duration, stop func(schema.GroupVersionKind)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for gvk, since := range k.idleSince {
		if now.Sub(since) >= grace {
			stop(gvk)
			delete(k.idleSince, gvk)
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

// useSourceKinds records the kinds a replication's pass gathers (nil when it is gone).
func (r *Reconciler) useSourceKinds(ref string, kinds []schema.GroupVersionKind) {
	r.mem.sourceKinds.use(ref, kinds, time.Now())
}

// stopIdleSourceInformers stops the source informers of the kinds no replication has included
// for the idle timeout, every tick of it until ctx ends.
func (r *Reconciler) stopIdleSourceInformers(ctx context.Context) error {
	grace := r.Options.IdleInformerTimeout
	tick := time.NewTicker(max(grace/2, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			r.mem.sourceKinds.sweep(now, grace, func(gvk schema.GroupVersionKind) { r.stopSourceInformer(ctx, gvk) })
		}
	}
}

func (r *Reconciler) stopSourceInformer(ctx context.Context, gvk schema.GroupVersionKind) {
	log := logf.FromContext(ctx)
	probe := &metav1.PartialObjectMetadata{}
	probe.SetGroupVersionKind(gvk)
	if err := r.SourceCache.RemoveInformer(ctx, probe); err != nil {
		log.Error(err, "cannot stop the source informer of a kind no replication includes", "kind", gvk.String())
		return
	}
	r.mem.mu.Lock()
	// A replication that includes the kind again starts a new informer and needs its handler.
	delete(r.mem.watchingSource, gvk.GroupKind().String())
	r.mem.mu.Unlock()
	log.V(1).Info("stopped the source informer of a kind no replication includes", "kind", gvk.String(), "idleFor", r.Options.IdleInformerTimeout)
}
