package replication

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/clusters"
	"github.com/drsyncer/dr-syncer/pkg/kubeversion"
	"github.com/drsyncer/dr-syncer/pkg/mirror"
	"github.com/drsyncer/dr-syncer/pkg/readiness"
	"github.com/drsyncer/dr-syncer/pkg/scope"
	"github.com/drsyncer/dr-syncer/pkg/source"
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
	// dependencies counts the copies mirrored because a mirrored workload needs them.
	dependencies int
	// checked says failover readiness was checked; blockers are what the copies need and DR lacks.
	checked  bool
	blockers []readiness.Blocker
}

func (tr *targetResult) add(c mirror.Change) {
	tr.counts[c.Action]++
	if c.Dropped != nil {
		tr.problems = append(tr.problems, problem{kind: c.GroupKind.Kind, namespace: c.Namespace, name: c.Name, reason: "FieldDropped",
			message: c.Dropped.Error() + "; accepted (transforms.dropUnknownFields)"})
	}
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

// syncTarget applies the desired objects to one target and prunes its orphans: it translates
// the spec into one engine pass, and the pass's change set into the target's result.
func (r *Reconciler) syncTarget(ctx context.Context, s *subject, t v1alpha1.Target, src sourceSet, g gathered) targetResult {
	res := targetResult{cluster: t.Cluster, counts: map[mirror.Action]int{}, drift: mirror.DriftPolicy(s.spec.Drift.Policy), dependencies: g.dependencies}
	cl, rc, why := r.Registry.Ready(ctx, r.Client, t.Cluster)
	if cl == nil {
		res.unavailable = why
		return res
	}
	if why := r.tenantRefusal(ctx, s, t, rc); why != "" {
		res.unavailable = why
		return res
	}
	r.mem.observe(cl)
	dests, why := r.ensureNamespaces(ctx, cl, s, t, src.names, &res)
	if why != "" {
		res.unavailable = why
		return res
	}
	// A source namespace that is gone keeps its copies, and the target keeps reporting them.
	deleting := maps.Clone(src.terminating)
	for dest, ns := range r.goneSources(ctx, s, t, cl, g.kinds, res.namespaces) {
		res.namespaces = append(res.namespaces, dest)
		deleting[ns] = true
	}
	kinds, planned, why := r.targetKinds(ctx, s, cl, g, res.namespaces, &res)
	if why != "" {
		res.unavailable = why
		return res
	}
	for _, gvk := range g.kinds {
		// At zero before the first drift, so that increase() sees the first one after a restart.
		r.Metrics.DriftSeries(s.ref, t.Cluster, gvk.Kind)
	}
	p := r.pass(ctx, s, t, cl, g, dests, deleting)
	cs := p.Run(ctx, kinds)
	r.record(s, t, cs, &res)
	res.blockers, res.checked = r.failoverBlockers(ctx, cl, cs), true
	if planned && g.complete {
		p.Book.Sweep() // copies of sources deleted under Retain, or no longer in scope
	}
	res.deletions = r.deleteLog(s, t)
	if res.counts[mirror.ActionFailed] == 0 {
		r.Metrics.Synced(s.ref, t.Cluster)
	}
	return res
}

// ensureNamespaces renders and creates the DR namespace of every source namespace, and returns
// source → DR namespace, or why the target cannot be written.
func (r *Reconciler) ensureNamespaces(ctx context.Context, cl *clusters.Cluster, s *subject, t v1alpha1.Target, sources []string, res *targetResult) (map[string]string, string) {
	dests, problems := r.destNamespaces(t, sources)
	res.problems = append(res.problems, problems...)
	for _, ns := range sources {
		dest, ok := dests[ns]
		if !ok {
			continue
		}
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: dest, Labels: map[string]string{
			keys.LabelManagedBy: keys.ManagedByValue, keys.LabelReplication: s.name()}}}
		if err := r.mem.namespaces.Ensure(ctx, cl.Client, cl.ID, ns); err != nil {
			return nil, fmt.Sprintf("cannot create DR namespace %s: %s", dest, oneLine(err))
		}
		res.namespaces = append(res.namespaces, dest)
	}
	return dests, ""
}

// targetKinds are the kinds of a pass as the engine sees them on the target: the source objects
// and the live copies. A kind dr-syncer cannot read on the target fails its objects only (planned
// is then false); a target whose copies cannot be listed is unavailable (why).
func (r *Reconciler) targetKinds(ctx context.Context, s *subject, cl *clusters.Cluster, g gathered, namespaces []string, res *targetResult) (kinds []mirror.Kind, planned bool, why string) {
	planned = true
	for _, gvk := range g.kinds {
		objs := g.objects[gvk]
		refusal := r.drRefusal(ctx, cl, gvk)
		if refusal == "" && cl.Watch(ctx, gvk) != nil {
			refusal = fmt.Sprintf("%s is not served by cluster %s (is its CRD installed there?)", gvk.Kind, cl.Name)
		}
		if refusal != "" {
			// Only this kind fails: an informer that cannot list would hold the whole target.
			for _, o := range objs {
				res.add(mirror.Change{GroupKind: gvk.GroupKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Action: mirror.ActionFailed, Err: errors.New(refusal)})
			}
			planned = false
			continue
		}
		live, err := r.liveCopies(ctx, cl, gvk, s, namespaces)
		if err != nil {
			return nil, false, fmt.Sprintf("cannot read %s copies: %s", gvk.Kind, oneLine(err))
		}
		kinds = append(kinds, mirror.Kind{GVK: gvk, Sources: objs, Live: live, Seen: cl.SeenVersion(gvk)})
	}
	return kinds, planned, ""
}

// pass translates the spec into the engine's pass over one target.
func (r *Reconciler) pass(ctx context.Context, s *subject, t v1alpha1.Target, cl *clusters.Cluster, g gathered, dests map[string]string, deleting map[string]bool) *mirror.Pass {
	opts := map[string]transform.Options{}
	for _, dest := range dests {
		opts[dest] = r.transformOptions(s, t, dest)
	}
	drVersion := cl.Version()
	return &mirror.Pass{
		Engine: &mirror.Engine{Client: cl.Client, Writer: cl.Writer, Typed: kubeversion.KnowsCompiled(drVersion),
			Verify: r.olderThanSource(drVersion), AcceptDropped: t.Transforms != nil && t.Transforms.DropUnknownFields},
		Where:  where(cl.Name, drVersion),
		Policy: scope.Policy(s.spec),
		Book:   r.mem.copies.Begin(s.ref, cl.ID), Workers: r.Options.Workers, Generation: s.obj.GetGeneration(),
		Dests: dests, Source: g.contents, Now: r.Now,
		Desired: func(src *unstructured.Unstructured, dest string) (*unstructured.Unstructured, error) {
			// The Secret type is not in metadata: checked again now that the content is read.
			if s.scope.SkipReason(src.GroupVersionKind().GroupKind(), src, source.SecretType(src)) != "" {
				return nil, nil
			}
			return transform.Desired(src, opts[dest])
		},
		CreatedNamespace: func(ns string) bool { return r.mem.namespaces.Created(cl.ID, ns) },
		NamespaceGone:    func(ns string) { r.mem.namespaces.Forget(cl.ID, ns) },
		Prune: mirror.PruneOptions{
			Mine: func(o metav1.Object) bool {
				return strings.HasPrefix(o.GetAnnotations()[keys.AnnotationSource], r.Options.SourceCluster+"/")
			},
			Retain: s.spec.DeletionPolicy != v1alpha1.DeletionDelete, Terminating: deleting,
			Confirm: func(ctx context.Context, o *metav1.PartialObjectMetadata) (bool, error) {
				return r.sourceGone(ctx, s, o)
			},
		},
		Budget: func(managed int) *mirror.Budget { return r.deleteBudget(s, t, managed, s.deletesApproved()) },
	}
}

// record turns a pass's change set into the target's result, metrics and delete log.
func (r *Reconciler) record(s *subject, t v1alpha1.Target, cs mirror.ChangeSet, res *targetResult) {
	res.inFlight = cs.InFlight
	for _, c := range cs.Changes {
		res.add(c)
		r.observe(s, t.Cluster, c)
	}
	for ns, n := range cs.Kept {
		res.problems = append([]problem{{kind: "Namespace", namespace: ns, name: ns, reason: v1alpha1.ReasonSourceNamespaceDeleted,
			message: fmt.Sprintf("the source namespace is being deleted or is gone; its %d cop%s on %s are kept (dr-syncer never deletes the copies of a deleted namespace)", n, plural(n), t.Cluster)}},
			res.problems...)
	}
	if cs.Held > 0 {
		res.stalled = fmt.Sprintf("%d of %d copies on %s lost their source and wait to be deleted: more than the mass-delete limit allows (%.0f%% of the copies or %d, within %s; %d more now), so none were deleted. Check the source, then approve with `kubectl drsyncer approve-deletes %s`, or wait for the window to move on",
			cs.Held, cs.Managed, t.Cluster, 100*r.Options.MaxPruneFraction, r.Options.MinPrune, r.Options.DeleteWindow, cs.HeldBudget, s.cliName())
	}
}

// drRefusal says why dr-syncer cannot list and watch a kind on a DR cluster, "" when it can (or
// when the cluster does not serve the kind: the watch below says so).
func (r *Reconciler) drRefusal(ctx context.Context, cl *clusters.Cluster, gvk schema.GroupVersionKind) string {
	m, err := cl.Client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return ""
	}
	return cl.Access.Refusal(ctx, m)
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

// liveCopies lists the replication's copies of a kind in the DR namespaces, within a bounded
// time: a cluster that does not answer fails the list.
func (r *Reconciler) liveCopies(ctx context.Context, cl *clusters.Cluster, gvk schema.GroupVersionKind, s *subject, namespaces []string) (map[string]*metav1.PartialObjectMetadata, error) {
	lctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return mirror.LiveCopies(lctx, cl.Cache, gvk, namespaces, s.name(), scope.Owner(s.obj.GetNamespace(), s.name()))
}

// olderThanSource says the DR cluster runs an older minor than the source (or than the compiled
// types, when the source's version is not known): it may drop fields it was sent.
func (r *Reconciler) olderThanSource(dr *version.Info) bool {
	drMinor, ok := kubeversion.Minor(dr)
	if !ok {
		return true
	}
	srcMinor := kubeversion.CompiledMinor
	if v := r.shared.sourceVersion.Get(); v != nil {
		if m, ok := kubeversion.Minor(v); ok {
			srcMinor = m
		}
	}
	return drMinor < srcMinor
}

func where(cluster string, v *version.Info) string {
	if v == nil {
		return cluster
	}
	return cluster + " (" + v.GitVersion + ")"
}

// failoverBlockers are the objects the copies on a target need that its DR cluster lacks: what
// another copy provides is there, the rest is read from DR (once a minute per connection).
func (r *Reconciler) failoverBlockers(ctx context.Context, cl *clusters.Cluster, cs mirror.ChangeSet) []readiness.Blocker {
	needs := map[readiness.Ref][]readiness.Ref{}
	for _, c := range cs.Changes {
		if c.Action.Present() {
			needs[readiness.Ref{Group: c.GroupKind.Group, Kind: c.GroupKind.Kind, Namespace: c.Namespace, Name: c.Name}] = c.Needs
		}
	}
	checker := r.mem.checkers.For(cl.ID, cl.Client, r.Now())
	return readiness.Missing(needs, func(ref readiness.Ref) bool { return checker.Exists(ctx, ref) })
}

// observe counts one change in the metrics: actions, drift, and the propagation lag of a write.
func (r *Reconciler) observe(s *subject, cluster string, c mirror.Change) {
	r.Metrics.Action(s.ref, cluster, c.GroupKind.Kind, string(c.Action))
	switch c.Action {
	case mirror.ActionCreate, mirror.ActionUpdate, mirror.ActionReplace:
		if at, ok := r.mem.changes.Since(objectKey(c.GroupKind.String(), c.SourceNamespace, c.Name)); ok {
			r.Metrics.Lag(s.ref, cluster, c.At.Sub(at))
		}
	}
	if c.Action == mirror.ActionReplace || c.Action == mirror.ActionDelete {
		r.mem.deletes.Record(s.ref, cluster, r.Now())
	}
	reported := c.Action == mirror.ActionReportDrift || (c.Action == mirror.ActionMissing && mirror.DriftPolicy(s.spec.Drift.Policy) == mirror.DriftReport)
	if c.Action == mirror.ActionCorrect || reported {
		r.Metrics.Drift(s.ref, cluster, c.GroupKind.Kind, c.Action == mirror.ActionCorrect)
	}
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
