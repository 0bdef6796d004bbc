package replication

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/clusters"
	"github.com/drsyncer/dr-syncer/pkg/metrics"
	"github.com/drsyncer/dr-syncer/pkg/mirror"
	"github.com/drsyncer/dr-syncer/pkg/scope"
	"github.com/drsyncer/dr-syncer/pkg/transform"
)

// problem is one object (or kind, or namespace) that failed, conflicted or drifted.
type problem struct {
	kind, namespace, name, reason, message string
}

// targetResult is the outcome of one pass to one target.
type targetResult struct {
	cluster    string
	namespaces []string
	// unavailable says the whole target could not be written, and why.
	unavailable string
	counts      map[mirror.Action]int
	drifted     int
	promoted    int
	problems    []problem
	stalled     string
	// inFlight says some writes were not yet visible in the DR cache.
	inFlight bool
}

func (tr *targetResult) add(c mirror.Change) {
	tr.counts[c.Action]++
	switch c.Action {
	case mirror.ActionFailed:
		tr.problems = append(tr.problems, problem{kind: c.GroupKind.Kind, namespace: c.Namespace, name: c.Name, reason: "Failed", message: oneLine(c.Err)})
	case mirror.ActionConflict:
		tr.problems = append(tr.problems, problem{kind: c.GroupKind.Kind, namespace: c.Namespace, name: c.Name, reason: "Conflict",
			message: "exists on the DR cluster and is not managed by dr-syncer (conflictPolicy Skip)"})
	case mirror.ActionPromoted:
		tr.promoted++
	case mirror.ActionCorrect, mirror.ActionReportDrift:
		tr.drifted++
		msg := "changed on the DR cluster; corrected"
		if c.Action == mirror.ActionReportDrift {
			msg = "changed on the DR cluster; reported only (drift policy Report)"
		}
		tr.problems = append(tr.problems, problem{kind: c.GroupKind.Kind, namespace: c.Namespace, name: c.Name, reason: "Drifted", message: msg})
	}
}

// syncTarget applies the desired objects to one target and prunes its orphans.
func (r *Reconciler) syncTarget(ctx context.Context, s *subject, t v1alpha1.Target, sources []string, g gathered) targetResult {
	res := targetResult{cluster: t.Cluster, counts: map[mirror.Action]int{}}
	cl, rc, why := r.connected(ctx, t.Cluster)
	if cl == nil {
		res.unavailable = why
		return res
	}
	if why := r.tenantRefusal(ctx, s, t, rc); why != "" {
		res.unavailable = why
		return res
	}
	dests, problems := r.destNamespaces(t, sources)
	res.problems = append(res.problems, problems...)
	for _, src := range sources {
		dest, ok := dests[src]
		if !ok {
			continue
		}
		if err := r.ensureNamespace(ctx, cl, dest, s.name()); err != nil {
			res.unavailable = fmt.Sprintf("cannot create DR namespace %s: %s", dest, oneLine(err))
			return res
		}
		res.namespaces = append(res.namespaces, dest)
	}
	engine := &mirror.Engine{Client: cl.Client, Writer: cl.Writer}
	policy := mirror.Policy{Drift: mirror.DriftPolicy(s.spec.Drift.Policy), Adopt: s.spec.ConflictPolicy == v1alpha1.ConflictAdopt}
	// Plan every kind first, so the content of all of them is read ahead of the writes.
	var plans []kindPlan
	managed := 0
	for _, gvk := range g.kinds {
		objs := g.objects[gvk]
		if err := cl.Watch(ctx, gvk); err != nil {
			for _, o := range objs {
				res.add(mirror.Change{GroupKind: gvk.GroupKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Action: mirror.ActionFailed,
					Err: fmt.Errorf("%s is not served by cluster %s (is its CRD installed there?)", gvk.Kind, t.Cluster)})
			}
			continue
		}
		live, err := r.liveCopies(ctx, cl, gvk, s.name(), res.namespaces)
		if err != nil {
			res.unavailable = fmt.Sprintf("cannot read %s copies: %s", gvk.Kind, oneLine(err))
			return res
		}
		managed += len(live)
		p := r.planKind(s, t, cl, gvk, g, dests, live)
		res.inFlight = res.inFlight || p.inFlight
		plans = append(plans, p)
	}
	var orphans []*metav1.PartialObjectMetadata
	for _, p := range plans {
		for _, c := range r.writeKind(ctx, s, t, cl, engine, policy, g, p) {
			res.add(c)
			r.count(s, t.Cluster, c)
		}
		// What is left in live has no source object any more.
		for _, o := range p.live {
			if strings.HasPrefix(o.GetAnnotations()[transform.AnnotationSource], r.Options.SourceCluster+"/") {
				orphans = append(orphans, o)
			}
		}
	}
	r.prune(ctx, s, t, engine, orphans, managed, &res)
	if res.counts[mirror.ActionFailed] == 0 {
		metrics.LastSyncTimestamp.WithLabelValues(s.ref, t.Cluster).SetToCurrentTime()
	}
	return res
}

// connected returns the target's client and RemoteCluster when it is Ready, or why not.
func (r *Reconciler) connected(ctx context.Context, name string) (*clusters.Cluster, *v1alpha1.RemoteCluster, string) {
	rc := &v1alpha1.RemoteCluster{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, rc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, fmt.Sprintf("RemoteCluster %q does not exist", name)
		}
		return nil, nil, fmt.Sprintf("cannot read RemoteCluster %q: %v", name, err)
	}
	if c := meta.FindStatusCondition(rc.Status.Conditions, v1alpha1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		msg := "not probed yet"
		if c != nil {
			msg = c.Message
		}
		return nil, nil, fmt.Sprintf("RemoteCluster %q is not ready: %s", name, msg)
	}
	cl, ok := r.Registry.Get(name)
	if !ok {
		return nil, nil, fmt.Sprintf("RemoteCluster %q is not connected yet", name)
	}
	return cl, rc, ""
}

// tenantRefusal says why a namespaced Replication may not write to target t on RemoteCluster rc,
// or "". The webhook rejects such a Replication; this guard holds when it was admitted while the
// webhook was down or before an admin narrowed the RemoteCluster or relabeled the namespace.
func (r *Reconciler) tenantRefusal(ctx context.Context, s *subject, t v1alpha1.Target, rc *v1alpha1.RemoteCluster) string {
	if !s.namespaced() {
		return ""
	}
	var ns corev1.Namespace
	if err := r.Client.Get(ctx, client.ObjectKey{Name: s.obj.GetNamespace()}, &ns); err != nil {
		return fmt.Sprintf("refused: cannot read namespace %q: %v", s.obj.GetNamespace(), err)
	}
	var msgs []string
	for _, ref := range scope.TenantRefusals(ns.Name, ns.Labels, t, rc) {
		msgs = append(msgs, ref.Message)
	}
	if len(msgs) == 0 {
		return ""
	}
	return "refused: " + strings.Join(msgs, "; ")
}

// ensureNamespace creates the DR namespace once; an existing namespace is used as it is.
func (r *Reconciler) ensureNamespace(ctx context.Context, cl *clusters.Cluster, name, replication string) error {
	key := cl.Name + "/" + name
	r.mem.mu.Lock()
	known := r.mem.knownNamespaces[key]
	r.mem.mu.Unlock()
	if known {
		return nil
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		transform.LabelManagedBy: transform.ManagedByValue, transform.LabelReplication: replication}}}
	err := cl.Client.Create(ctx, ns)
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	r.mem.mu.Lock()
	r.mem.knownNamespaces[key] = true
	if err == nil {
		r.mem.createdNamespaces[key] = true
	}
	r.mem.mu.Unlock()
	return nil
}

// liveCopies lists a replication's managed copies of a kind in the DR namespaces (metadata only),
// keyed by namespace/name. A cluster that does not answer fails the list within a bounded time.
func (r *Reconciler) liveCopies(ctx context.Context, cl *clusters.Cluster, gvk schema.GroupVersionKind, replication string, namespaces []string) (map[string]*metav1.PartialObjectMetadata, error) {
	lctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	out := map[string]*metav1.PartialObjectMetadata{}
	for _, ns := range namespaces {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := cl.Cache.List(lctx, list, client.InNamespace(ns), client.MatchingLabels{transform.LabelReplication: replication}); err != nil {
			return nil, err
		}
		for i := range list.Items {
			item := &list.Items[i]
			item.SetGroupVersionKind(gvk)
			out[ns+"/"+item.GetName()] = item
		}
	}
	return out, nil
}

// copyState is what the controller knows of one DR copy: the source and DR versions at which the
// copy was last written or found equal, under which generation of the replication.
type copyState struct {
	sourceVersion, liveVersion string
	generation                 int64
}

// kindPlan is what a pass does with one kind on one target: the copies it leaves alone and the
// source objects whose content it must read.
type kindPlan struct {
	gvk         schema.GroupVersionKind
	live        map[string]*metav1.PartialObjectMetadata // what is left after the writes are orphans
	unchanged   []mirror.Change
	needContent []pending
	inFlight    bool
}

// planKind sorts the objects of one kind into copies left alone and copies to write, removes each
// desired object's key from live, and starts reading the content the writes need.
func (r *Reconciler) planKind(s *subject, t v1alpha1.Target, cl *clusters.Cluster, gvk schema.GroupVersionKind, g gathered,
	dests map[string]string, live map[string]*metav1.PartialObjectMetadata) kindPlan {
	seen := cl.SeenVersion(gvk)
	gen := s.obj.GetGeneration()
	objs := g.objects[gvk]
	p := kindPlan{gvk: gvk, live: live}
	needed := map[string]int{}
	for _, o := range objs {
		dest, ok := dests[o.GetNamespace()]
		if !ok {
			continue
		}
		liveKey := dest + "/" + o.GetName()
		l := live[liveKey]
		delete(live, liveKey)
		key := t.Cluster + "/" + gvk.GroupKind().String() + "/" + liveKey
		st, known := r.copyState(key)
		unchanged := mirror.Change{GroupKind: gvk.GroupKind(), Namespace: dest, Name: o.GetName(), Action: mirror.ActionUnchanged}
		switch {
		case l != nil && mirror.IsPromoted(l):
			// Serving after a failover: never overwritten, whatever the source says, until demoted.
			unchanged.Action = mirror.ActionPromoted
			p.unchanged = append(p.unchanged, unchanged)
			continue
		case known && l != nil && st.liveVersion == l.GetResourceVersion() && st.sourceVersion == o.GetResourceVersion() && st.generation == gen:
			// Verified at these very versions: nothing to transform, nothing to compare.
			p.unchanged = append(p.unchanged, unchanged)
			continue
		case known && st.liveVersion != "" && (l == nil || l.GetResourceVersion() != st.liveVersion) && olderThan(seen, st.liveVersion):
			// Our own write has not reached the cache yet; its event brings another pass.
			p.unchanged = append(p.unchanged, unchanged)
			p.inFlight = true
			continue
		}
		p.needContent = append(p.needContent, pending{src: o, live: l, dest: dest, key: key, known: known})
		needed[o.GetNamespace()]++
	}
	// In the order a LIST returns them (by namespace and name), so the workers follow the pages of a
	// prefetch as they arrive.
	slices.SortFunc(p.needContent, func(a, b pending) int {
		return cmp.Or(cmp.Compare(a.src.GetNamespace(), b.src.GetNamespace()), cmp.Compare(a.src.GetName(), b.src.GetName()))
	})
	for _, ns := range slices.Sorted(maps.Keys(needed)) {
		g.contents.prefetch(gvk, ns, needed[ns])
	}
	return p
}

// writeKind reads, transforms and applies the objects of a plan with bounded concurrency, and
// returns every change, the unchanged included. An object that turns out never to be mirrored
// goes back to the plan's live copies, as an orphan.
func (r *Reconciler) writeKind(ctx context.Context, s *subject, t v1alpha1.Target, cl *clusters.Cluster, engine *mirror.Engine, policy mirror.Policy,
	g gathered, p kindPlan) []mirror.Change {
	changes := append(make([]mirror.Change, 0, len(p.unchanged)+len(p.needContent)), p.unchanged...)
	// Content reads, transforms and writes run on the workers: one slow object never holds up the rest.
	workers := max(1, r.Options.Workers)
	sem := make(chan struct{}, workers)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, o := range p.needContent {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, orphan := r.syncObject(ctx, s, t, cl, engine, policy, p.gvk, g, o)
			mu.Lock()
			defer mu.Unlock()
			if orphan != nil {
				p.live[o.dest+"/"+o.src.GetName()] = orphan
			}
			if c != nil {
				changes = append(changes, *c)
			}
		})
	}
	wg.Wait()
	return changes
}

// pending is a source object whose copy needs its content read: what the first look found.
type pending struct {
	src   *metav1.PartialObjectMetadata
	live  *metav1.PartialObjectMetadata // nil when the cache has no copy
	dest  string
	key   string // copyState key
	known bool   // the copy was written or verified before
}

// syncObject reads one source object's content, transforms and applies it. It returns the
// change (nil when the object vanished) and, for an object that turns out never to be mirrored,
// its live copy, which is then an orphan.
func (r *Reconciler) syncObject(ctx context.Context, s *subject, t v1alpha1.Target, cl *clusters.Cluster, engine *mirror.Engine, policy mirror.Policy,
	gvk schema.GroupVersionKind, g gathered, pd pending) (*mirror.Change, *metav1.PartialObjectMetadata) {
	o, l, dest, key, known := pd.src, pd.live, pd.dest, pd.key, pd.known
	failed := func(err error) (*mirror.Change, *metav1.PartialObjectMetadata) {
		return &mirror.Change{GroupKind: gvk.GroupKind(), Namespace: dest, Name: o.GetName(), Action: mirror.ActionFailed, Err: err}, nil
	}
	src, err := g.contents.get(ctx, gvk, o)
	if err != nil {
		return failed(err)
	}
	if src == nil {
		return nil, nil // deleted since the cache saw it: its copy is pruned on the next pass
	}
	if scope.SkipReason(gvk.GroupKind(), src, secretType(src), s.spec.Resources.IncludeHelmReleases) != "" {
		return nil, l
	}
	desired, err := transform.Desired(src, r.transformOptions(s, t, dest))
	if err != nil {
		return failed(fmt.Errorf("transform failed: %w", err))
	}
	recreate := l == nil && known
	if recreate && policy.Drift != mirror.DriftCorrect {
		c := mirror.Change{GroupKind: gvk.GroupKind(), Namespace: dest, Name: o.GetName(), Action: mirror.ActionReportDrift}
		if policy.Drift == mirror.DriftIgnore {
			c.Action = mirror.ActionUnchanged
		}
		r.afterApply(s, t.Cluster, gvk, src, key, c)
		return &c, nil
	}
	var lv metav1.Object
	if l != nil {
		lv = l
	}
	p := policy
	p.LiveIsComplete = r.createdNamespace(cl.Name, dest)
	c := engine.Apply(ctx, desired, lv, p)
	if recreate && c.Action == mirror.ActionCreate {
		c.Action = mirror.ActionCorrect
	}
	r.afterApply(s, t.Cluster, gvk, src, key, c)
	return &c, nil
}

// olderThan reports whether resourceVersion a is older than b. Resource versions are etcd
// revisions; when either is not a number, the cache is trusted.
func olderThan(a, b string) bool {
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil && x < y
}

// secretType is a Secret's type, "" for other objects.
func secretType(o *unstructured.Unstructured) string {
	t, _, _ := unstructured.NestedString(o.Object, "type")
	return t
}

func (r *Reconciler) createdNamespace(cluster, ns string) bool {
	r.mem.mu.Lock()
	defer r.mem.mu.Unlock()
	return r.mem.createdNamespaces[cluster+"/"+ns]
}

func (r *Reconciler) copyState(key string) (copyState, bool) {
	r.mem.mu.Lock()
	defer r.mem.mu.Unlock()
	st, ok := r.mem.copies[key]
	return st, ok
}

// afterApply records what a change means for drift tracking and propagation lag.
func (r *Reconciler) afterApply(s *subject, cluster string, gvk schema.GroupVersionKind, src metav1.Object, key string, c mirror.Change) {
	r.mem.mu.Lock()
	defer r.mem.mu.Unlock()
	switch c.Action {
	case mirror.ActionCreate, mirror.ActionUpdate, mirror.ActionCorrect, mirror.ActionAdopt, mirror.ActionUnchanged, mirror.ActionReportDrift:
		st := copyState{sourceVersion: src.GetResourceVersion(), liveVersion: c.LiveVersion, generation: s.obj.GetGeneration()}
		if c.Action == mirror.ActionReportDrift {
			st.liveVersion = "" // still differs: compare again next time
		}
		r.mem.copies[key] = st
	default:
		delete(r.mem.copies, key)
	}
	if c.Action == mirror.ActionCreate || c.Action == mirror.ActionUpdate {
		if at, ok := r.mem.changedAt[objectKey(gvk.GroupKind().String(), src.GetNamespace(), src.GetName())]; ok {
			metrics.PropagationLag.WithLabelValues(s.ref, cluster).Observe(r.Now().Sub(at).Seconds())
		}
	}
	if c.Action == mirror.ActionCorrect || c.Action == mirror.ActionReportDrift {
		metrics.DriftDetected.WithLabelValues(s.ref, cluster, gvk.Kind).Inc()
		if c.Action == mirror.ActionCorrect {
			metrics.DriftCorrected.WithLabelValues(s.ref, cluster, gvk.Kind).Inc()
		}
	}
}

// prune deletes orphaned copies under deletionPolicy Delete, unless the mass-delete breaker trips.
func (r *Reconciler) prune(ctx context.Context, s *subject, t v1alpha1.Target, engine *mirror.Engine, orphans []*metav1.PartialObjectMetadata, managed int, res *targetResult) {
	orphans = slices.DeleteFunc(orphans, func(o *metav1.PartialObjectMetadata) bool {
		if mirror.IsPromoted(o) {
			res.add(mirror.Change{GroupKind: o.GroupVersionKind().GroupKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Action: mirror.ActionPromoted})
			return true
		}
		return false
	})
	if len(orphans) == 0 {
		return
	}
	retain := func() {
		for _, o := range orphans {
			c := mirror.Change{GroupKind: o.GroupVersionKind().GroupKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Action: mirror.ActionRetain}
			res.add(c)
			r.count(s, t.Cluster, c)
		}
	}
	if s.spec.DeletionPolicy != v1alpha1.DeletionDelete {
		retain()
		return
	}
	// Deletes of the last drift interval count too, so a mass delete the source reports over several
	// passes still trips the breaker.
	window := s.spec.Drift.Interval.Duration
	key := s.ref + "/" + t.Cluster
	recent := r.recentDeletes(key, window)
	if !mirror.PruneAllowed(len(orphans)+recent, managed+recent, r.Options.MaxPruneFraction, r.Options.MinPrune) {
		res.stalled = fmt.Sprintf("%d of %d copies on %s lost their source (%d more deleted in the last %s); more than the mass-delete limit (%.0f%%), so none were deleted: check the source, then delete them by hand or raise the limit",
			len(orphans), managed, t.Cluster, recent, window, 100*r.Options.MaxPruneFraction)
		retain()
		return
	}
	for _, o := range orphans {
		c := engine.Delete(ctx, o)
		res.add(c)
		r.count(s, t.Cluster, c)
		if c.Action == mirror.ActionDelete {
			r.recordDelete(key)
		}
		r.mem.mu.Lock()
		delete(r.mem.copies, t.Cluster+"/"+o.GroupVersionKind().GroupKind().String()+"/"+o.GetNamespace()+"/"+o.GetName())
		r.mem.mu.Unlock()
	}
}

// recentDeletes counts the copies a replication deleted on a target within window.
func (r *Reconciler) recentDeletes(key string, window time.Duration) int {
	r.mem.mu.Lock()
	defer r.mem.mu.Unlock()
	cutoff := r.Now().Add(-window)
	times := r.mem.deletes[key]
	for len(times) > 0 && times[0].Before(cutoff) {
		times = times[1:]
	}
	r.mem.deletes[key] = times
	return len(times)
}

func (r *Reconciler) recordDelete(key string) {
	r.mem.mu.Lock()
	defer r.mem.mu.Unlock()
	r.mem.deletes[key] = append(r.mem.deletes[key], r.Now())
}

func (r *Reconciler) count(s *subject, cluster string, c mirror.Change) {
	metrics.MirrorActions.WithLabelValues(s.ref, cluster, c.GroupKind.Kind, string(c.Action)).Inc()
}

func oneLine(err error) string {
	if err == nil {
		return ""
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if len(msg) > 300 {
		msg = msg[:297] + "..."
	}
	return msg
}
