package source

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// SyncTimeout bounds how long a pass waits for a new source informer to sync.
const SyncTimeout = 10 * time.Second

// Informers are the source's metadata informers of the kinds replications include. An informer
// holds a watch on the source API server and every labeled object of its kind in memory: it is
// started when a pass first gathers its kind, reports every event to OnEvent, and is stopped once
// no replication has included its kind for Idle. Not at once: a replication re-created or edited
// back reuses the watch, and every stop costs a little (the metadata informer's watch filter can
// leave a goroutine behind, kubernetes#113254).
type Informers struct {
	Cache cache.Cache
	// OnEvent is told of every add, update and delete of a watched kind.
	OnEvent func(gk schema.GroupKind, obj client.Object)
	Idle    time.Duration

	users *kindUsers
	mu    sync.Mutex
	// watching are the kinds whose informers report to OnEvent.
	watching map[schema.GroupKind]bool
}

func NewInformers(c cache.Cache, idle time.Duration, onEvent func(schema.GroupKind, client.Object)) *Informers {
	return &Informers{Cache: c, OnEvent: onEvent, Idle: idle, users: newKindUsers(), watching: map[schema.GroupKind]bool{}}
}

// Use records the kinds a replication's passes gather (none: it is gone). Call it before Start,
// so that no sweep stops an informer a pass has just claimed.
func (i *Informers) Use(ref string, kinds []schema.GroupVersionKind) {
	i.users.use(ref, kinds, time.Now())
}

// Start makes sure a kind's informer runs, reports to OnEvent and has synced, waiting at most
// SyncTimeout: an informer that cannot sync must not hold the pass, or the worker every
// replication shares.
func (i *Informers) Start(ctx context.Context, gvk schema.GroupVersionKind) error {
	probe := &metav1.PartialObjectMetadata{}
	probe.SetGroupVersionKind(gvk)
	inf, err := i.Cache.GetInformer(ctx, probe, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("cannot watch %s on the source: %w", gvk.Kind, err)
	}
	if err := i.report(gvk.GroupKind(), inf); err != nil {
		return err
	}
	if !waitSynced(ctx, inf, SyncTimeout) {
		return fmt.Errorf("the source cache of %s has not synced within %s (can dr-syncer list and watch it?); retried on the next pass", gvk.Kind, SyncTimeout)
	}
	return nil
}

// List lists the cached objects of a kind in a namespace that match sel. They are the cache's
// own: read-only.
func (i *Informers) List(ctx context.Context, gvk schema.GroupVersionKind, namespace string, sel labels.Selector) ([]metav1.PartialObjectMetadata, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := i.Cache.List(ctx, list, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: sel}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("cannot list %s: %w", gvk.Kind, err)
	}
	return list.Items, nil
}

// Get reads the cached metadata of one object; nil when the cache does not hold it.
func (i *Informers) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	if err := i.Cache.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, m); err != nil {
		return nil
	}
	return m
}

// report adds the event handler to a kind's informer once.
func (i *Informers) report(gk schema.GroupKind, inf cache.Informer) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.watching[gk] {
		return nil
	}
	notify := func(o any) {
		if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
			o = d.Obj
		}
		if co, ok := o.(client.Object); ok {
			i.OnEvent(gk, co)
		}
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: notify, UpdateFunc: func(_, o any) { notify(o) }, DeleteFunc: notify,
	}); err != nil {
		return fmt.Errorf("failed to watch source %s: %w", gk, err)
	}
	i.watching[gk] = true
	return nil
}

// StopIdle stops the informers of the kinds no replication has included for Idle, every half of
// it, until ctx ends: a manager Runnable.
func (i *Informers) StopIdle(ctx context.Context) error {
	tick := time.NewTicker(max(i.Idle/2, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			i.users.sweep(now, i.Idle, func(gvk schema.GroupVersionKind) { i.stop(ctx, gvk) })
		}
	}
}

func (i *Informers) stop(ctx context.Context, gvk schema.GroupVersionKind) {
	log := logf.FromContext(ctx)
	probe := &metav1.PartialObjectMetadata{}
	probe.SetGroupVersionKind(gvk)
	if err := i.Cache.RemoveInformer(ctx, probe); err != nil {
		log.Error(err, "cannot stop the source informer of a kind no replication includes", "kind", gvk.String())
		return
	}
	i.mu.Lock()
	// A replication that includes the kind again starts a new informer and needs its handler.
	delete(i.watching, gvk.GroupKind())
	i.mu.Unlock()
	log.V(1).Info("stopped the source informer of a kind no replication includes", "kind", gvk.String(), "idleFor", i.Idle)
}

// waitSynced waits until inf has synced, at most timeout.
func waitSynced(ctx context.Context, inf cache.Informer, timeout time.Duration) bool {
	if inf.HasSynced() {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return inf.HasSynced()
		case <-t.C:
			if inf.HasSynced() {
				return true
			}
		}
	}
}

// kindUsers are the kinds each replication's passes gather, and since when a kind nobody uses
// has been idle.
type kindUsers struct {
	// mu also orders a replication claiming a kind before its informer is fetched against the
	// stop of that informer: a kind is never stopped under a pass that has just claimed it.
	mu        sync.Mutex
	byRef     map[string][]schema.GroupVersionKind
	idleSince map[schema.GroupVersionKind]time.Time
}

func newKindUsers() *kindUsers {
	return &kindUsers{byRef: map[string][]schema.GroupVersionKind{}, idleSince: map[schema.GroupVersionKind]time.Time{}}
}

// use records that ref's passes gather kinds (none: ref is gone); the kinds ref used before and
// no replication uses now are idle from now on.
func (k *kindUsers) use(ref string, kinds []schema.GroupVersionKind, now time.Time) {
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
func (k *kindUsers) sweep(now time.Time, grace time.Duration, stop func(schema.GroupVersionKind)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for gvk, since := range k.idleSince {
		if now.Sub(since) >= grace {
			stop(gvk)
			delete(k.idleSince, gvk)
		}
	}
}

func (k *kindUsers) used(gvk schema.GroupVersionKind) bool {
	for _, kinds := range k.byRef {
		if slices.Contains(kinds, gvk) {
			return true
		}
	}
	return false
}
