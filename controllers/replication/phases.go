package replication

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/mirror"
	"github.com/drsyncer/dr-syncer/pkg/nstemplate"
	"github.com/drsyncer/dr-syncer/pkg/schedule"
	"github.com/drsyncer/dr-syncer/pkg/scope"
	"github.com/drsyncer/dr-syncer/pkg/source"
	"github.com/drsyncer/dr-syncer/pkg/transform"
)

// Reconcile runs one pass: fetch → decide timing → resolve sources → gather the desired objects →
// sync every target in parallel, with the backfill of missed labels beside them → status. The
// status patch is deferred so that every exit path reports.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	s, err := r.fetch(ctx, req)
	if s == nil || err != nil {
		return ctrl.Result{}, err
	}
	before := s.copy()
	s.spec.Default()
	now := r.Now()
	defer func() {
		s.status.ObservedGeneration = s.obj.GetGeneration()
		if err := r.Client.Status().Patch(ctx, s.obj, client.MergeFrom(before)); err != nil && !apierrors.IsNotFound(err) {
			reterr = fmt.Errorf("failed to update the status of %s: %w", s.ref, err)
		}
	}()
	if s.spec.Suspend {
		setSuspended(s)
		return ctrl.Result{}, nil
	}
	if msgs := scope.InvalidReplicationName(s.name()); len(msgs) > 0 {
		// Admitted past the CRD's rule (an older CRD): nothing is labeled or written.
		setInvalid(s, "metadata.name %q cannot be the value of the %s label (%s): recreate it with a DNS-1123 label of at most 63 characters",
			s.name(), keys.LabelReplication, strings.Join(msgs, "; "))
		return ctrl.Result{}, nil
	}
	timing := schedule.Decide(s.spec, r.mem.retries.Latest(s.ref, s.status), s.requested(), now, r.mem.retries.At(s.ref))
	r.Metrics.ExpectedInterval(s.ref, schedule.ExpectedInterval(s.spec, now))
	if !timing.Run {
		setWaiting(s, timing)
		return requeueAt(timing.Next, now), nil
	}
	return r.run(ctx, s, timing, now)
}

// run is a pass that writes: every target in parallel, then status and the next pass.
func (r *Reconciler) run(ctx context.Context, s *subject, timing schedule.Timing, now time.Time) (ctrl.Result, error) {
	if s.spec.Mode == v1alpha1.ModeScheduled {
		at := metav1.NewTime(now)
		s.status.LastScheduledTime = &at
		r.mem.retries.Ran(s.ref, now)
	}
	start := time.Now()
	sources, err := r.sourceNamespaces(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	var wg sync.WaitGroup
	// What backfill labels reaches the next pass through the source cache, so it runs beside this
	// pass instead of before it: its server-side LISTs stay off the path of the writes.
	wg.Go(func() { r.backfill(ctx, s, sources.names, now) })
	desired, gatherProblems := r.gather(ctx, s, sources.names)
	results := make([]targetResult, len(s.spec.Targets))
	for i, t := range s.spec.Targets {
		wg.Go(func() { results[i] = r.syncTarget(ctx, s, t, sources, desired) }) // one target never blocks another
	}
	wg.Wait()
	if desired.contents != nil {
		desired.contents.Done()
	}
	r.forgetApplied(desired)
	r.Metrics.Pass(s.ref, time.Since(start))
	failed := r.report(ctx, s, results, gatherProblems, timing, now)
	return r.next(ctx, s, results, failed, timing, now)
}

// next is when the replication passes again after a pass that wrote.
func (r *Reconciler) next(ctx context.Context, s *subject, results []targetResult, failed bool, timing schedule.Timing, now time.Time) (ctrl.Result, error) {
	if failed && s.spec.Mode == v1alpha1.ModeScheduled {
		// Retried with a backoff of its own; changes in between wait, or Scheduled would become
		// Continuous for as long as one object fails.
		retry := r.mem.retries.Failed(s.ref, now)
		logf.FromContext(ctx).Info("scheduled pass did not complete on every target; retrying", "replication", s.ref, "at", retry)
		return requeueAt(retry, now), nil
	}
	r.mem.retries.Succeeded(s.ref)
	if failed {
		// Retried with the controller's exponential backoff; the status already says why.
		return ctrl.Result{}, fmt.Errorf("pass of %s did not complete on every target", s.ref)
	}
	for _, res := range results {
		if res.inFlight {
			// Writes not yet seen by the DR cache: their events normally bring the next pass; this
			// is the safety net.
			return ctrl.Result{RequeueAfter: 2 * time.Second}, nil
		}
	}
	return requeueAt(timing.Next, now), nil
}

func requeueAt(next, now time.Time) ctrl.Result {
	if next.IsZero() {
		return ctrl.Result{}
	}
	return ctrl.Result{RequeueAfter: max(next.Sub(now), time.Second)}
}

// sourceSet is what a pass covers on the source: the namespaces, sorted, and which of them are
// being deleted (their copies are never deleted).
type sourceSet struct {
	names       []string
	terminating map[string]bool
}

// sourceNamespaces resolves the namespaces a replication covers; never system namespaces or the
// controller's own.
func (r *Reconciler) sourceNamespaces(ctx context.Context, s *subject) (sourceSet, error) {
	out := sourceSet{terminating: map[string]bool{}}
	if s.namespaced() {
		name := s.obj.GetNamespace()
		if scope.IsSystemNamespace(name) || name == r.Options.Namespace {
			return out, nil
		}
		var ns corev1.Namespace
		if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, &ns); err != nil {
			if apierrors.IsNotFound(err) {
				return out, nil // gone, and the Replication with it
			}
			return out, fmt.Errorf("failed to read namespace %s: %w", name, err)
		}
		out.names = []string{name}
		out.terminating[name] = ns.DeletionTimestamp != nil
		return out, nil
	}
	var list corev1.NamespaceList
	if err := r.Client.List(ctx, &list); err != nil {
		return out, fmt.Errorf("failed to list namespaces: %w", err)
	}
	out.names = slices.DeleteFunc(scope.SourceNamespaces(s.name(), s.obj.NamespaceSelector(), list.Items), func(ns string) bool { return ns == r.Options.Namespace })
	for i := range list.Items {
		if list.Items[i].DeletionTimestamp != nil {
			out.terminating[list.Items[i].Name] = true
		}
	}
	return out, nil
}

// kindsOf resolves the kinds of a replication to versioned kinds the source serves and
// dr-syncer may read there.
func (r *Reconciler) kindsOf(ctx context.Context, s *subject) ([]schema.GroupVersionKind, []problem) {
	var out []schema.GroupVersionKind
	var problems []problem
	for _, gk := range s.scope.Kinds() {
		m, err := r.Client.RESTMapper().RESTMapping(gk)
		if err != nil {
			problems = append(problems, problem{kind: gk.Kind, reason: "Failed", message: fmt.Sprintf("kind %s is not served by the source cluster: %v", gk, err)})
			continue
		}
		if m.Scope.Name() != meta.RESTScopeNameNamespace {
			// Refused again at pass time, for a replication admitted while the webhook was bypassed:
			// a cluster-scoped kind would make the backfill list and label the whole cluster.
			problems = append(problems, problem{kind: gk.Kind, reason: "Failed", message: "refused: " + scope.ClusterScopedRefusal(gk)})
			continue
		}
		if why := r.access.Refusal(ctx, m); why != "" {
			problems = append(problems, problem{kind: gk.Kind, reason: "Failed", message: why})
			continue
		}
		out = append(out, m.GroupVersionKind)
	}
	sort.SliceStable(out, func(i, j int) bool { return mirror.Rank(out[i].GroupKind()) < mirror.Rank(out[j].GroupKind()) })
	return out, problems
}

// gathered are the source objects in scope (metadata from the source cache), by kind, in apply
// order, and the reader of their content for this pass.
type gathered struct {
	kinds    []schema.GroupVersionKind
	objects  map[schema.GroupVersionKind][]*metav1.PartialObjectMetadata
	contents *source.Contents
	// complete says every kind in scope was gathered: a pass may forget copies it did not see.
	complete bool
	// dependencies counts the objects mirrored because a mirrored workload needs them.
	dependencies int
}

// gather reads the labeled source objects of every kind in scope from the source cache.
func (r *Reconciler) gather(ctx context.Context, s *subject, sources []string) (gathered, []problem) {
	kinds, problems := r.kindsOf(ctx, s)
	g := gathered{kinds: kinds, objects: map[schema.GroupVersionKind][]*metav1.PartialObjectMetadata{}}
	sel, err := s.scope.Selector()
	if err != nil {
		return g, append(problems, problem{reason: "Failed", message: err.Error()})
	}
	g.contents = source.NewContents(ctx, r.SourceReader, sel)
	// Claimed before their informers are fetched, so that no other pass stops them meanwhile.
	r.shared.informers.Use(s.ref, kinds)
	for _, gvk := range kinds {
		if err := r.shared.informers.Start(ctx, gvk); err != nil {
			problems = append(problems, problem{kind: gvk.Kind, reason: "Failed", message: err.Error()})
			continue
		}
		for _, ns := range sources {
			items, err := r.shared.informers.List(ctx, gvk, ns, sel)
			if err != nil {
				problems = append(problems, problem{kind: gvk.Kind, namespace: ns, reason: "Failed", message: err.Error()})
				continue
			}
			for i := range items {
				// The Secret type is not in metadata: it is checked again once the content is read.
				if s.scope.SkipReason(gvk.GroupKind(), &items[i], "") == "" {
					g.objects[gvk] = append(g.objects[gvk], &items[i])
				}
			}
		}
	}
	if s.scope.FollowsDependencies() {
		added, err := r.mem.dependencies.Follow(ctx, s.ref, s.name(), s.scope, r.shared.informers, g.contents, g.kinds, g.objects)
		if err != nil {
			problems = append(problems, problem{reason: "Failed", message: fmt.Sprintf("cannot tell what the mirrored workloads need: %v", err)})
		}
		g.dependencies = added
	}
	g.complete = len(problems) == 0
	return g, problems
}

// sourcesDigest sums up the source namespaces and their replication labels.
func (r *Reconciler) sourcesDigest(ctx context.Context, sources []string) uint64 {
	h := fnv.New64a()
	for _, ns := range sources {
		var obj corev1.Namespace
		_ = r.Client.Get(ctx, client.ObjectKey{Name: ns}, &obj) // a namespace not in the cache has no label
		fmt.Fprintf(h, "%s=%s,", ns, obj.Labels[keys.LabelReplication])
	}
	return h.Sum64()
}

// backfill labels what the webhook missed (objects created before the opt-in or while it was down),
// once per drift interval: the labeled objects then reach the source cache and the next pass.
func (r *Reconciler) backfill(ctx context.Context, s *subject, sources []string, now time.Time) {
	// Due once per interval, and at once when the set of source namespaces changes (an opt-in) or
	// one of them gets its label: writes before the webhook was called there were missed.
	if !r.mem.backfills.Due(s.ref, r.sourcesDigest(ctx, sources), now, s.spec.Drift.Interval.Duration) {
		return
	}
	kinds, _ := r.kindsOf(ctx, s)
	if n := s.labeler(r).Backfill(ctx, kinds, sources); n > 0 {
		logf.FromContext(ctx).Info("labeled objects the webhook missed", "replication", s.ref, "count", n)
	}
}

// transformOptions are the transform settings of one target.
func (r *Reconciler) transformOptions(s *subject, t v1alpha1.Target, destNS string) transform.Options {
	return scope.TransformOptions(s.spec, t, r.Options.SourceCluster, s.obj.GetNamespace(), s.name(), destNS)
}

// forgetApplied clears the pending change times of the objects this pass handled, and any older
// than ten minutes (objects no replication mirrors), so the map never grows without bound.
func (r *Reconciler) forgetApplied(g gathered) {
	var keys []string
	for gvk, objs := range g.objects {
		for _, o := range objs {
			keys = append(keys, objectKey(gvk.GroupKind().String(), o.GetNamespace(), o.GetName()))
		}
	}
	r.mem.changes.Handled(keys, r.Now().Add(-10*time.Minute))
}

// destNamespaces renders the DR namespace of every source namespace for a target.
func (r *Reconciler) destNamespaces(t v1alpha1.Target, sources []string) (map[string]string, []problem) {
	out := map[string]string{}
	var problems []problem
	for _, src := range sources {
		dest, err := nstemplate.Render(t.Namespace, src)
		if err == nil {
			if why := nstemplate.Forbidden(dest, r.Options.Namespace); why != "" {
				err = fmt.Errorf("DR namespace %s", why)
			}
		}
		if err != nil {
			problems = append(problems, problem{kind: "Namespace", namespace: src, name: src, reason: "Failed", message: err.Error()})
			continue
		}
		out[src] = dest
	}
	return out, problems
}
