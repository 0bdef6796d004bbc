package replication

import (
	"cmp"
	"context"
	"errors"
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
	// missing counts desired copies absent on DR that the drift policy does not recreate.
	missing int
	// deletions is the target's delete log after the pass, for status.
	deletions mirror.DeleteLog
	// inFlight says some writes were not yet visible in the DR cache.
	inFlight bool
	drift    mirror.DriftPolicy
}

func (tr *targetResult) add(c mirror.Change) {
	tr.counts[c.Action]++
	switch c.Action {
	case mirror.ActionFailed:
		tr.problems = append(tr.problems, problem{kind: c.GroupKind.Kind, namespace: c.Namespace, name: c.Name, reason: "Failed", message: oneLine(c.Err)})
	case mirror.ActionConflict:
		msg := "exists on the DR cluster and is not managed by dr-syncer (conflictPolicy Skip)"
		if c.Owner != "" {
			msg = "is the DR copy written by " + c.Owner + ": one replication owns each DR object, so it is neither written nor pruned here"
		}
		tr.problems = append(tr.problems, problem{kind: c.GroupKind.Kind, namespace: c.Namespace, name: c.Name, reason: "Conflict", message: msg})
	case mirror.ActionPromoted:
		tr.promoted++
	case mirror.ActionMissing:
		tr.missing++
		if tr.drift == mirror.DriftReport {
			tr.drifted++
			tr.problems = append(tr.problems, problem{kind: c.GroupKind.Kind, namespace: c.Namespace, name: c.Name, reason: "Drifted",
				message: "deleted on the DR cluster; reported only (drift policy Report): written again when its source changes"})
			return
		}
		tr.problems = append(tr.problems, problem{kind: c.GroupKind.Kind, namespace: c.Namespace, name: c.Name, reason: "Missing",
			message: "deleted on the DR cluster; not recreated (drift policy Ignore) until its source changes"})
	case mirror.ActionCorrect, mirror.ActionReportDrift:
		tr.drifted++
		msg := "changed on the DR cluster; corrected"
		if c.Action == mirror.ActionReportDrift {
			msg = "changed on the DR cluster; reported only (drift policy Report)"
		}
		if c.Detail != "" {
			msg = strings.Replace(msg, "cluster;", "cluster ("+c.Detail+");", 1)
		}
		tr.problems = append(tr.problems, problem{kind: c.GroupKind.Kind, namespace: c.Namespace, name: c.Name, reason: "Drifted", message: msg})
	}
}

// targetPass is one pass over one target: what every phase of it shares.
type targetPass struct {
	s      *subject
	t      v1alpha1.Target
	cl     *clusters.Cluster
	book   *copyBook // what is known of the target's copies
	engine *mirror.Engine
	policy mirror.Policy
	g      gathered
	// terminating are the source namespaces being deleted or gone: their copies are never deleted.
	terminating map[string]bool
	budget      *deleteBudget
}

// copyKey is the key of a copy in the target's copy book (which is per connection).
func copyKey(gk schema.GroupKind, namespace, name string) string {
	return gk.String() + "/" + namespace + "/" + name
}

// syncTarget applies the desired objects to one target and prunes its orphans.
func (r *Reconciler) syncTarget(ctx context.Context, s *subject, t v1alpha1.Target, src sourceSet, g gathered) targetResult {
	res := targetResult{cluster: t.Cluster, counts: map[mirror.Action]int{}, drift: mirror.DriftPolicy(s.spec.Drift.Policy)}
	cl, rc, why := r.connected(ctx, t.Cluster)
	if cl == nil {
		res.unavailable = why
		return res
	}
	if why := r.tenantRefusal(ctx, s, t, rc); why != "" {
		res.unavailable = why
		return res
	}
	r.mem.observe(cl)
	dests, problems := r.destNamespaces(t, src.names)
	res.problems = append(res.problems, problems...)
	for _, ns := range src.names {
		dest, ok := dests[ns]
		if !ok {
			continue
		}
		if err := r.ensureNamespace(ctx, cl, dest, s.name()); err != nil {
			res.unavailable = fmt.Sprintf("cannot create DR namespace %s: %s", dest, oneLine(err))
			return res
		}
		res.namespaces = append(res.namespaces, dest)
	}
	// A source namespace that is gone keeps its copies, and the target keeps reporting them.
	deleting := maps.Clone(src.terminating)
	for dest, ns := range r.goneSources(ctx, s, t, cl, g.kinds, res.namespaces) {
		res.namespaces = append(res.namespaces, dest)
		deleting[ns] = true
	}
	p := &targetPass{s: s, t: t, cl: cl, g: g, terminating: deleting, book: r.mem.copies.begin(s.ref, cl.ID),
		engine: &mirror.Engine{Client: cl.Client, Writer: cl.Writer},
		policy: mirror.Policy{Drift: mirror.DriftPolicy(s.spec.Drift.Policy), Adopt: s.spec.ConflictPolicy == v1alpha1.ConflictAdopt,
			AllowedManagers: s.spec.Drift.AllowedFieldManagers}}
	// Plan every kind first, so the content of all of them is read ahead of the writes.
	var plans []kindPlan
	managed, planned := 0, g.complete
	for _, gvk := range g.kinds {
		objs := g.objects[gvk]
		if why := r.drRefusal(ctx, cl, gvk); why != "" {
			// Only this kind fails: an informer that cannot list would hold the whole target.
			for _, o := range objs {
				res.add(mirror.Change{GroupKind: gvk.GroupKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Action: mirror.ActionFailed, Err: errors.New(why)})
			}
			planned = false
			continue
		}
		if err := cl.Watch(ctx, gvk); err != nil {
			for _, o := range objs {
				res.add(mirror.Change{GroupKind: gvk.GroupKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Action: mirror.ActionFailed,
					Err: fmt.Errorf("%s is not served by cluster %s (is its CRD installed there?)", gvk.Kind, t.Cluster)})
			}
			planned = false
			continue
		}
		live, err := r.liveCopies(ctx, cl, gvk, s, res.namespaces)
		if err != nil {
			res.unavailable = fmt.Sprintf("cannot read %s copies: %s", gvk.Kind, oneLine(err))
			return res
		}
		managed += len(live)
		kp := r.planKind(p, gvk, dests, live)
		res.inFlight = res.inFlight || kp.inFlight
		plans = append(plans, kp)
	}
	for _, gvk := range g.kinds {
		// At zero before the first drift, so that increase() sees the first one after a restart.
		metrics.DriftDetected.WithLabelValues(s.ref, t.Cluster, gvk.Kind)
		metrics.DriftCorrected.WithLabelValues(s.ref, t.Cluster, gvk.Kind)
	}
	p.budget = r.deleteBudget(s, t, managed, s.deletesApproved())
	var orphans []*metav1.PartialObjectMetadata
	for _, kp := range plans {
		for _, c := range r.writeKind(ctx, p, kp) {
			res.add(c)
			r.count(s, t.Cluster, c)
		}
		// What is left in live has no source object any more.
		for _, o := range kp.live {
			if strings.HasPrefix(o.GetAnnotations()[transform.AnnotationSource], r.Options.SourceCluster+"/") {
				orphans = append(orphans, o)
			}
		}
	}
	r.prune(ctx, p, orphans, managed, &res)
	if planned {
		p.book.sweep() // copies of sources deleted under Retain, or no longer in scope
	}
	res.deletions = r.deleteLog(s, t)
	if res.counts[mirror.ActionFailed] == 0 {
		metrics.LastSyncTimestamp.WithLabelValues(s.ref, t.Cluster).SetToCurrentTime()
	}
	return res
}

// drRefusal says why dr-syncer cannot list and watch a kind on a DR cluster, "" when it can (or
// when the cluster does not serve the kind: the watch below says so).
func (r *Reconciler) drRefusal(ctx context.Context, cl *clusters.Cluster, gvk schema.GroupVersionKind) string {
	m, err := cl.Client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return ""
	}
	return r.mem.drAccess(cl, r.Now).refusal(ctx, m)
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

// ensureNamespace creates the DR namespace once per connection; an existing namespace is used as
// it is. A write that finds it gone makes it forgotten (forgetNamespace), so it is created again.
func (r *Reconciler) ensureNamespace(ctx context.Context, cl *clusters.Cluster, name, replication string) error {
	key := cl.ID + "/" + name
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
// keyed by namespace/name; copies another replication owns (one of the same name, say) are not
// its own. A cluster that does not answer fails the list within a bounded time.
func (r *Reconciler) liveCopies(ctx context.Context, cl *clusters.Cluster, gvk schema.GroupVersionKind, s *subject, namespaces []string) (map[string]*metav1.PartialObjectMetadata, error) {
	owner := scope.Owner(s.obj.GetNamespace(), s.name())
	lctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	out := map[string]*metav1.PartialObjectMetadata{}
	for _, ns := range namespaces {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := cl.Cache.List(lctx, list, client.InNamespace(ns), client.MatchingLabels{transform.LabelReplication: s.name()}); err != nil {
			return nil, err
		}
		for i := range list.Items {
			item := &list.Items[i]
			if mirror.IsOwnedByOther(item, owner) {
				continue
			}
			item.SetGroupVersionKind(gvk)
			out[ns+"/"+item.GetName()] = item
		}
	}
	return out, nil
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
func (r *Reconciler) planKind(p *targetPass, gvk schema.GroupVersionKind, dests map[string]string, live map[string]*metav1.PartialObjectMetadata) kindPlan {
	seen := p.cl.SeenVersion(gvk)
	gen := p.s.obj.GetGeneration()
	objs := p.g.objects[gvk]
	kp := kindPlan{gvk: gvk, live: live}
	needed := map[string]int{}
	for _, o := range objs {
		dest, ok := dests[o.GetNamespace()]
		if !ok {
			continue
		}
		liveKey := dest + "/" + o.GetName()
		l := live[liveKey]
		delete(live, liveKey)
		key := copyKey(gvk.GroupKind(), dest, o.GetName())
		st, known := p.book.get(key)
		unchanged := mirror.Change{GroupKind: gvk.GroupKind(), Namespace: dest, Name: o.GetName(), Action: mirror.ActionUnchanged}
		switch {
		case l != nil && mirror.IsPromoted(l):
			// Serving after a failover: never overwritten, whatever the source says, until demoted.
			unchanged.Action = mirror.ActionPromoted
			kp.unchanged = append(kp.unchanged, unchanged)
			continue
		case known && l != nil && st.liveVersion == l.GetResourceVersion() && st.sourceVersion == o.GetResourceVersion() && st.generation == gen:
			// Verified at these very versions: nothing to transform, nothing to compare.
			kp.unchanged = append(kp.unchanged, unchanged)
			continue
		case known && st.liveVersion != "" && (l == nil || l.GetResourceVersion() != st.liveVersion) && olderThan(seen, st.liveVersion):
			// Our own write has not reached the cache yet; its event brings another pass. Not
			// counted as synced until the cache shows it.
			unchanged.Action = mirror.ActionPending
			kp.unchanged = append(kp.unchanged, unchanged)
			kp.inFlight = true
			continue
		}
		kp.needContent = append(kp.needContent, pending{src: o, live: l, dest: dest, key: key, known: known, state: st})
		needed[o.GetNamespace()]++
	}
	// In the order a LIST returns them (by namespace and name), so the workers follow the pages of a
	// prefetch as they arrive.
	slices.SortFunc(kp.needContent, func(a, b pending) int {
		return cmp.Or(cmp.Compare(a.src.GetNamespace(), b.src.GetNamespace()), cmp.Compare(a.src.GetName(), b.src.GetName()))
	})
	for _, ns := range slices.Sorted(maps.Keys(needed)) {
		p.g.contents.prefetch(gvk, ns, needed[ns])
	}
	return kp
}

// writeKind reads, transforms and applies the objects of a plan with bounded concurrency, and
// returns every change, the unchanged included. An object that turns out never to be mirrored
// goes back to the plan's live copies, as an orphan.
func (r *Reconciler) writeKind(ctx context.Context, p *targetPass, kp kindPlan) []mirror.Change {
	changes := append(make([]mirror.Change, 0, len(kp.unchanged)+len(kp.needContent)), kp.unchanged...)
	// Content reads, transforms and writes run on the workers: one slow object never holds up the rest.
	workers := max(1, r.Options.Workers)
	sem := make(chan struct{}, workers)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, o := range kp.needContent {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, orphan := r.syncObject(ctx, p, kp.gvk, o)
			mu.Lock()
			defer mu.Unlock()
			if orphan != nil {
				kp.live[o.dest+"/"+o.src.GetName()] = orphan
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
	key   string    // copyState key
	known bool      // the copy was written or verified before
	state copyState // what was known, when known
}

// syncObject reads one source object's content, transforms and applies it. It returns the
// change (nil when the object vanished) and, for an object that turns out never to be mirrored,
// its live copy, which is then an orphan.
func (r *Reconciler) syncObject(ctx context.Context, p *targetPass, gvk schema.GroupVersionKind, pd pending) (*mirror.Change, *metav1.PartialObjectMetadata) {
	s, o, l := p.s, pd.src, pd.live
	failed := func(err error) (*mirror.Change, *metav1.PartialObjectMetadata) {
		return &mirror.Change{GroupKind: gvk.GroupKind(), Namespace: pd.dest, Name: o.GetName(), Action: mirror.ActionFailed, Err: err}, nil
	}
	src, err := p.g.contents.get(ctx, gvk, o)
	if err != nil {
		return failed(err)
	}
	if src == nil {
		return nil, nil // deleted since the cache saw it: its copy is pruned on the next pass
	}
	if s.scope.SkipReason(gvk.GroupKind(), src, secretType(src)) != "" {
		return nil, l
	}
	desired, err := transform.Desired(src, r.transformOptions(s, p.t, pd.dest))
	if err != nil {
		return failed(fmt.Errorf("transform failed: %w", err))
	}
	// A copy deleted on DR is drift; a source that changed since is news, written in every policy.
	recreate := l == nil && pd.known
	sourceChanged := pd.state.sourceVersion != src.GetResourceVersion() || pd.state.generation != s.obj.GetGeneration()
	if recreate && !sourceChanged && p.policy.Drift != mirror.DriftCorrect {
		c := mirror.Change{GroupKind: gvk.GroupKind(), Namespace: pd.dest, Name: o.GetName(), Action: mirror.ActionMissing}
		r.afterApply(p, gvk, src, pd.key, c)
		return &c, nil
	}
	var lv metav1.Object
	if l != nil {
		lv = l
	}
	policy := p.policy
	policy.LiveIsComplete = r.createdNamespace(p.cl, pd.dest)
	c := p.engine.Apply(ctx, desired, lv, policy)
	switch {
	case c.Action == mirror.ActionFailed && l != nil && mirror.IsImmutable(c.Err):
		c = r.replace(ctx, p, desired, l, c)
	case c.Action == mirror.ActionFailed && apierrors.IsNotFound(c.Err):
		// The DR namespace is gone (deleted on DR): forget it, so the next pass creates it again.
		r.forgetNamespace(p.cl, pd.dest)
	case recreate && c.Action == mirror.ActionCreate && p.policy.Drift == mirror.DriftCorrect:
		c.Action = mirror.ActionCorrect
	}
	r.afterApply(p, gvk, src, pd.key, c)
	return &c, nil
}

// replace deletes and re-creates a copy whose update the DR API server refused as immutable, when
// the mass-delete budget allows one more delete; failed is the refused update.
func (r *Reconciler) replace(ctx context.Context, p *targetPass, desired *unstructured.Unstructured, live metav1.Object, failed mirror.Change) mirror.Change {
	if !p.budget.take(1) {
		failed.Err = fmt.Errorf("%w; replacing the copy waits: the mass-delete limit of this target is reached", failed.Err)
		return failed
	}
	c := p.engine.Replace(ctx, desired, live)
	if c.Action == mirror.ActionReplace {
		r.recordDelete(p.s, p.t.Cluster)
	}
	return c
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

func (r *Reconciler) createdNamespace(cl *clusters.Cluster, ns string) bool {
	r.mem.mu.Lock()
	defer r.mem.mu.Unlock()
	return r.mem.createdNamespaces[cl.ID+"/"+ns]
}

func (r *Reconciler) forgetNamespace(cl *clusters.Cluster, ns string) {
	r.mem.mu.Lock()
	defer r.mem.mu.Unlock()
	delete(r.mem.knownNamespaces, cl.ID+"/"+ns)
	delete(r.mem.createdNamespaces, cl.ID+"/"+ns)
}

// afterApply records what a change means for drift tracking and propagation lag.
func (r *Reconciler) afterApply(p *targetPass, gvk schema.GroupVersionKind, src metav1.Object, key string, c mirror.Change) {
	s, cluster := p.s, p.t.Cluster
	switch c.Action {
	case mirror.ActionCreate, mirror.ActionUpdate, mirror.ActionCorrect, mirror.ActionAdopt, mirror.ActionUnchanged, mirror.ActionReportDrift,
		mirror.ActionReplace, mirror.ActionMissing:
		st := copyState{sourceVersion: src.GetResourceVersion(), liveVersion: c.LiveVersion, generation: s.obj.GetGeneration()}
		if c.Action == mirror.ActionReportDrift || c.Action == mirror.ActionMissing {
			st.liveVersion = "" // still differs: compare again next time
		}
		p.book.put(key, st)
	default:
		p.book.drop(key)
	}
	if c.Action == mirror.ActionCreate || c.Action == mirror.ActionUpdate || c.Action == mirror.ActionReplace {
		r.mem.mu.Lock()
		at, ok := r.mem.changedAt[objectKey(gvk.GroupKind().String(), src.GetNamespace(), src.GetName())]
		r.mem.mu.Unlock()
		if ok {
			metrics.PropagationLag.WithLabelValues(s.ref, cluster).Observe(r.Now().Sub(at).Seconds())
		}
	}
	reported := c.Action == mirror.ActionReportDrift || (c.Action == mirror.ActionMissing && p.policy.Drift == mirror.DriftReport)
	if c.Action == mirror.ActionCorrect || reported {
		metrics.DriftDetected.WithLabelValues(s.ref, cluster, gvk.Kind).Inc()
		if c.Action == mirror.ActionCorrect {
			metrics.DriftCorrected.WithLabelValues(s.ref, cluster, gvk.Kind).Inc()
		}
	}
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
