package mirror

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/drsyncer/dr-syncer/pkg/readiness"
)

// Source reads the content of the source objects a pass writes: the caches hold metadata only.
type Source interface {
	// Prefetch says that n objects of a kind in a namespace need their content: one LIST may
	// serve them better than n reads. It returns at once.
	Prefetch(gvk schema.GroupVersionKind, namespace string, n int)
	// Get returns the content of the object; nil when it is gone.
	Get(ctx context.Context, gvk schema.GroupVersionKind, m metav1.Object) (*unstructured.Unstructured, error)
}

// Kind is one kind of a target pass: the source objects in scope and the copies on DR.
type Kind struct {
	GVK     schema.GroupVersionKind
	Sources []*metav1.PartialObjectMetadata
	// Live are the replication's copies on DR by namespace/name (from the DR cache). The pass
	// removes the copies it finds a source for: what is left has none.
	Live map[string]*metav1.PartialObjectMetadata
	// Seen is the newest resourceVersion the DR cache has seen of the kind.
	Seen string
}

// Pass is one pass over one target: what every step of it shares.
type Pass struct {
	Engine *Engine
	Policy Policy
	Book   *CopyBook
	// Workers bounds the concurrent content reads, transforms and writes.
	Workers int
	// Generation is the replication's: a new spec rewrites every copy.
	Generation int64
	// Dests maps each source namespace to its DR namespace; objects of other namespaces are not written.
	Dests  map[string]string
	Source Source
	// Desired is the copy of a source object in DR namespace dest, nil when the object is never
	// mirrored after all (what only its content shows, like a Secret's type).
	Desired func(src *unstructured.Unstructured, dest string) (*unstructured.Unstructured, error)
	// CreatedNamespace says dr-syncer created the DR namespace in this connection: everything in
	// it is its own, so an absent copy needs no look-up before its create.
	CreatedNamespace func(ns string) bool
	// NamespaceGone is told of a DR namespace a write found gone.
	NamespaceGone func(ns string)
	Prune         PruneOptions
	// Budget is the target's delete budget for the pass, given the copies it manages.
	Budget func(managed int) *Budget
	Now    func() time.Time
	// Where names the DR cluster and its version in what a write it refused or truncated says.
	Where string
}

// ChangeSet is what one pass did to one target.
type ChangeSet struct {
	Changes []Change
	// InFlight says some writes were not yet visible in the DR cache.
	InFlight bool
	// Managed is the number of copies the replication has on the target.
	Managed int
	// Held is the number of copies without a source that the mass-delete breaker kept, and
	// HeldBudget the deletes that were left.
	Held, HeldBudget int
	// Kept counts the copies kept per source namespace being deleted.
	Kept map[string]int
}

// Run plans every kind first (so the content of all of them is read ahead of the writes),
// writes with bounded concurrency, and prunes the copies left without a source.
func (p *Pass) Run(ctx context.Context, kinds []Kind) ChangeSet {
	var cs ChangeSet
	plans := make([]KindPlan, 0, len(kinds))
	for _, k := range kinds {
		cs.Managed += len(k.Live)
		kp := p.Plan(k)
		cs.InFlight = cs.InFlight || kp.InFlight
		for _, ns := range slices.Sorted(maps.Keys(kp.perNamespace)) {
			p.Source.Prefetch(k.GVK, ns, kp.perNamespace[ns])
		}
		plans = append(plans, kp)
	}
	budget := p.Budget(cs.Managed)
	var orphans []*metav1.PartialObjectMetadata
	for _, kp := range plans {
		cs.Changes = append(cs.Changes, p.write(ctx, kp, budget)...)
		for _, o := range kp.Live {
			if p.Prune.Mine(o) {
				orphans = append(orphans, o)
			}
		}
	}
	p.prune(ctx, orphans, budget, &cs)
	return cs
}

// KindPlan is what a pass does with one kind: the copies it leaves alone and the source objects
// whose content it must read.
type KindPlan struct {
	GVK schema.GroupVersionKind
	// Live are the copies without a source object (so far: one never mirrored after all joins them).
	Live        map[string]*metav1.PartialObjectMetadata
	Unchanged   []Change
	NeedContent []Pending
	InFlight    bool
	// perNamespace counts NeedContent per source namespace.
	perNamespace map[string]int
}

// Pending is a source object whose copy needs its content read: what the first look found.
type Pending struct {
	Source *metav1.PartialObjectMetadata
	Live   *metav1.PartialObjectMetadata // nil when the cache has no copy
	Dest   string
	Key    string    // in the copy book
	Known  bool      // the copy was written or verified before
	State  CopyState // what was known, when known
}

// Plan sorts the objects of one kind into copies left alone and copies to write from the
// metadata alone, and removes each desired object's copy from k.Live.
func (p *Pass) Plan(k Kind) KindPlan {
	kp := KindPlan{GVK: k.GVK, Live: k.Live, perNamespace: map[string]int{}}
	for _, o := range k.Sources {
		dest, ok := p.Dests[o.GetNamespace()]
		if !ok {
			continue
		}
		l := k.Live[dest+"/"+o.GetName()]
		delete(k.Live, dest+"/"+o.GetName())
		key := CopyKey(k.GVK.GroupKind(), dest, o.GetName())
		st, known := p.Book.Get(key)
		unchanged := Change{GroupKind: k.GVK.GroupKind(), Namespace: dest, Name: o.GetName(), SourceNamespace: o.GetNamespace()}
		if unchanged.Action = p.settled(o, l, st, known, k.Seen); unchanged.Action != "" {
			if unchanged.Action != ActionPromoted {
				unchanged.Needs = st.Needs
			}
			kp.Unchanged = append(kp.Unchanged, unchanged)
			kp.InFlight = kp.InFlight || unchanged.Action == ActionPending
			continue
		}
		kp.NeedContent = append(kp.NeedContent, Pending{Source: o, Live: l, Dest: dest, Key: key, Known: known, State: st})
		kp.perNamespace[o.GetNamespace()]++
	}
	// In the order a LIST returns them (by namespace and name), so the workers follow the pages of a
	// prefetch as they arrive.
	slices.SortFunc(kp.NeedContent, func(a, b Pending) int {
		return cmp.Or(cmp.Compare(a.Source.GetNamespace(), b.Source.GetNamespace()), cmp.Compare(a.Source.GetName(), b.Source.GetName()))
	})
	return kp
}

// settled is the action for a copy decided from metadata alone, "" when its content must be read.
func (p *Pass) settled(src metav1.Object, live *metav1.PartialObjectMetadata, st CopyState, known bool, seen string) Action {
	switch {
	case live != nil && IsPromoted(live):
		// Serving after a failover: never overwritten, whatever the source says, until demoted.
		return ActionPromoted
	case known && live != nil && st.LiveVersion == live.GetResourceVersion() && st.SourceVersion == src.GetResourceVersion() && st.Generation == p.Generation:
		// Verified at these very versions: nothing to transform, nothing to compare.
		return ActionUnchanged
	case known && st.LiveVersion != "" && (live == nil || live.GetResourceVersion() != st.LiveVersion) && olderThan(seen, st.LiveVersion):
		// Our own write has not reached the cache yet; its event brings another pass. Not counted
		// as synced until the cache shows it.
		return ActionPending
	}
	return ""
}

// olderThan reports whether resourceVersion a is older than b. Resource versions are etcd
// revisions; when either is not a number, the cache is trusted.
func olderThan(a, b string) bool {
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil && x < y
}

// write reads, transforms and applies the objects of a plan on the workers (one slow object
// never holds up the rest), and returns every change, the unchanged included. An object that
// turns out never to be mirrored goes back to the plan's live copies, as an orphan.
func (p *Pass) write(ctx context.Context, kp KindPlan, budget *Budget) []Change {
	changes := append(make([]Change, 0, len(kp.Unchanged)+len(kp.NeedContent)), kp.Unchanged...)
	sem := make(chan struct{}, max(1, p.Workers))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, pd := range kp.NeedContent {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, orphan := p.syncObject(ctx, kp.GVK, pd, budget)
			mu.Lock()
			defer mu.Unlock()
			if orphan != nil {
				kp.Live[pd.Dest+"/"+pd.Source.GetName()] = orphan
			}
			if c != nil {
				changes = append(changes, *c)
			}
		})
	}
	wg.Wait()
	return changes
}

// syncObject reads one source object's content, transforms and applies it. It returns the change
// (nil when the object vanished) and, for an object that turns out never to be mirrored, its live
// copy, which is then an orphan.
func (p *Pass) syncObject(ctx context.Context, gvk schema.GroupVersionKind, pd Pending, budget *Budget) (*Change, *metav1.PartialObjectMetadata) {
	c := Change{GroupKind: gvk.GroupKind(), Namespace: pd.Dest, Name: pd.Source.GetName(), SourceNamespace: pd.Source.GetNamespace()}
	src, desired, err := p.desired(ctx, gvk, pd)
	switch {
	case err != nil:
		c.Action, c.Err = ActionFailed, err
		return &c, nil
	case src == nil:
		return nil, nil // deleted since the cache saw it: its copy is pruned on the next pass
	case desired == nil:
		return nil, pd.Live
	}
	// A copy deleted on DR is drift; a source that changed since is news, written in every policy.
	recreate := pd.Live == nil && pd.Known
	sourceChanged := pd.State.SourceVersion != src.GetResourceVersion() || pd.State.Generation != p.Generation
	if recreate && !sourceChanged && p.Policy.Drift != DriftCorrect {
		c.Action = ActionMissing
	} else {
		c = p.apply(ctx, desired, pd, budget)
		if recreate && c.Action == ActionCreate && p.Policy.Drift == DriftCorrect {
			c.Action = ActionCorrect
		}
	}
	c.SourceNamespace, c.At, c.Needs = pd.Source.GetNamespace(), p.now(), readiness.Needs(desired)
	p.record(src, pd.Key, c)
	return &c, nil
}

// desired reads a source object's content and transforms it.
func (p *Pass) desired(ctx context.Context, gvk schema.GroupVersionKind, pd Pending) (src, desired *unstructured.Unstructured, err error) {
	src, err = p.Source.Get(ctx, gvk, pd.Source)
	if err != nil || src == nil {
		return nil, nil, err
	}
	desired, err = p.Desired(src, pd.Dest)
	if err != nil {
		return nil, nil, fmt.Errorf("transform failed: %w", err)
	}
	return src, desired, nil
}

// apply writes one copy, and replaces it when the DR API server refuses the update as immutable.
func (p *Pass) apply(ctx context.Context, desired *unstructured.Unstructured, pd Pending, budget *Budget) Change {
	policy := p.Policy
	policy.LiveIsComplete = p.CreatedNamespace(pd.Dest)
	var live metav1.Object
	if pd.Live != nil {
		live = pd.Live
	}
	c := p.Engine.Apply(ctx, desired, live, policy)
	var dropped *DroppedError
	switch {
	case c.Dropped != nil:
		c.Dropped.Where = p.Where
	case errors.As(c.Err, &dropped):
		dropped.Where = p.Where
	case c.Err != nil && p.Where != "" && IsUnknownField(c.Err):
		c.Err = fmt.Errorf("%w: not known to %s", c.Err, p.Where)
	}
	switch {
	case c.Action == ActionFailed && pd.Live != nil && IsImmutable(c.Err):
		return p.replace(ctx, desired, pd.Live, c, budget)
	case c.Action == ActionFailed && apierrors.IsNotFound(c.Err):
		// The DR namespace is gone (deleted on DR): forgotten, so the next pass creates it again.
		p.NamespaceGone(pd.Dest)
	}
	return c
}

// replace deletes and re-creates a copy whose update was refused as immutable, when the
// mass-delete budget allows one more delete; failed is the refused update.
func (p *Pass) replace(ctx context.Context, desired *unstructured.Unstructured, live metav1.Object, failed Change, budget *Budget) Change {
	if !budget.Take(1) {
		failed.Err = fmt.Errorf("%w; replacing the copy waits: the mass-delete limit of this target is reached", failed.Err)
		return failed
	}
	return p.Engine.Replace(ctx, desired, live)
}

// record keeps in the copy book what a change says about the copy.
func (p *Pass) record(src metav1.Object, key string, c Change) {
	switch c.Action {
	case ActionCreate, ActionUpdate, ActionCorrect, ActionAdopt, ActionUnchanged, ActionReportDrift, ActionReplace, ActionMissing:
		st := CopyState{SourceVersion: src.GetResourceVersion(), LiveVersion: c.LiveVersion, Generation: p.Generation, Needs: c.Needs}
		if c.Action == ActionReportDrift || c.Action == ActionMissing {
			st.LiveVersion = "" // still differs: compare again next time
		}
		p.Book.Put(key, st)
	default:
		p.Book.Drop(key)
	}
}

func (p *Pass) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}
