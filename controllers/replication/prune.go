package replication

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/clusters"
	"github.com/drsyncer/dr-syncer/pkg/mirror"
	"github.com/drsyncer/dr-syncer/pkg/transform"
)

// deleteBudget is how many more copies a target may delete in this pass (prunes and
// replacements together) before the mass-delete breaker holds.
type deleteBudget struct {
	mu   sync.Mutex
	left int
}

// take spends n deletes when that many are left.
func (b *deleteBudget) take(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.left {
		return false
	}
	b.left -= n
	return true
}

func (b *deleteBudget) remaining() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.left
}

// deleteBudget is the target's budget for this pass: the breaker's limit over the copies it
// manages now, less what it deleted within the window (remembered here and in status, so a slow
// drain or a restart does not escape it); unlimited when an operator approved this pass.
func (r *Reconciler) deleteBudget(s *subject, t v1alpha1.Target, managed int, approved bool) *deleteBudget {
	deleted := r.deleteLog(s, t).Within(r.Now(), r.Options.DeleteWindow)
	return &deleteBudget{left: mirror.DeleteBudget(managed, deleted, r.Options.MaxPruneFraction, r.Options.MinPrune, approved)}
}

// deleteLog is what is known of a target's recent deletes: this process's, merged with the log
// the last pass left in status (a restart or a new leader starts from that).
func (r *Reconciler) deleteLog(s *subject, t v1alpha1.Target) mirror.DeleteLog {
	key := deleteKey(s, t.Cluster)
	r.mem.mu.Lock()
	defer r.mem.mu.Unlock()
	l := r.mem.deletes[key]
	if l == nil {
		l = mirror.DeleteLog{}
		r.mem.deletes[key] = l
	}
	if prev := findTarget(s.status.Targets, t.Cluster); prev != nil {
		persisted := mirror.DeleteLog{}
		for _, d := range prev.RecentDeletions {
			persisted.Add(d.Minute.Time, int(d.Count))
		}
		l.Merge(persisted)
	}
	l.Forget(r.Now(), r.Options.DeleteWindow)
	return maps.Clone(l)
}

// deleteKey keys a target's delete log in memory: forget drops a replication's by its ref prefix.
func deleteKey(s *subject, cluster string) string { return s.ref + "/" + cluster }

func (r *Reconciler) recordDelete(s *subject, cluster string) {
	key := deleteKey(s, cluster)
	r.mem.mu.Lock()
	defer r.mem.mu.Unlock()
	if r.mem.deletes[key] == nil {
		r.mem.deletes[key] = mirror.DeleteLog{}
	}
	r.mem.deletes[key].Add(r.Now(), 1)
}

// prune decides the fate of the copies whose source this pass did not find. Never deleted: a
// promoted copy, the copies of a source namespace being deleted, any copy under deletionPolicy
// Retain, and a copy whose source a direct read still finds (it only lost its label, which is
// put back). The rest are deleted under deletionPolicy Delete, unless the mass-delete breaker holds.
func (r *Reconciler) prune(ctx context.Context, p *targetPass, orphans []*metav1.PartialObjectMetadata, managed int, res *targetResult) {
	s, t := p.s, p.t
	retain := func(o *metav1.PartialObjectMetadata) {
		c := mirror.Change{GroupKind: o.GroupVersionKind().GroupKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Action: mirror.ActionRetain}
		res.add(c)
		r.count(s, t.Cluster, c)
	}
	deleting := map[string]int{} // source namespace being deleted → copies kept
	var candidates []*metav1.PartialObjectMetadata
	for _, o := range orphans {
		_, srcNS, _, _ := transform.ParseSourceRef(o.GetAnnotations()[transform.AnnotationSource])
		switch {
		case o.GetDeletionTimestamp() != nil:
			// Deleted already, held on DR by finalizers: neither deleted nor counted again.
		case mirror.IsPromoted(o):
			res.add(mirror.Change{GroupKind: o.GroupVersionKind().GroupKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Action: mirror.ActionPromoted})
		case p.terminating[srcNS]:
			deleting[srcNS]++
			retain(o)
		case s.spec.DeletionPolicy != v1alpha1.DeletionDelete:
			retain(o)
		default:
			candidates = append(candidates, o)
		}
	}
	for ns, n := range deleting {
		res.problems = append([]problem{{kind: "Namespace", namespace: ns, name: ns, reason: v1alpha1.ReasonSourceNamespaceDeleted,
			message: fmt.Sprintf("the source namespace is being deleted or is gone; its %d cop%s on %s are kept (dr-syncer never deletes the copies of a deleted namespace)", n, plural(n), t.Cluster)}},
			res.problems...)
	}
	stall := func(waiting []*metav1.PartialObjectMetadata) {
		res.stalled = fmt.Sprintf("%d of %d copies on %s lost their source and wait to be deleted: more than the mass-delete limit allows (%.0f%% of the copies or %d, within %s; %d more now), so none were deleted. Check the source, then approve with `kubectl drsyncer approve-deletes %s`, or wait for the window to move on",
			len(waiting), managed, t.Cluster, 100*r.Options.MaxPruneFraction, r.Options.MinPrune, r.Options.DeleteWindow, p.budget.remaining(), s.cliName())
		for _, o := range waiting {
			retain(o)
		}
	}
	if len(candidates) > p.budget.remaining() {
		// Held whatever the reads would say; reading the source for each of a mass delete at every
		// pass would only load it. The backfill puts lost labels back meanwhile.
		stall(candidates)
		return
	}
	var confirmed []*metav1.PartialObjectMetadata
	for _, o := range candidates {
		switch gone, err := r.sourceGone(ctx, s, o); {
		case err != nil:
			res.add(mirror.Change{GroupKind: o.GroupVersionKind().GroupKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Action: mirror.ActionFailed,
				Err: fmt.Errorf("kept: cannot confirm that its source is gone: %w", err)})
		case gone:
			confirmed = append(confirmed, o)
		default:
			// Only the label was lost: the copy stays and the next pass sees the object again.
			res.add(mirror.Change{GroupKind: o.GroupVersionKind().GroupKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Action: mirror.ActionUnchanged})
		}
	}
	if len(confirmed) == 0 {
		return
	}
	if !p.budget.take(len(confirmed)) {
		stall(confirmed)
		return
	}
	for _, o := range confirmed {
		c := p.engine.Delete(ctx, o)
		res.add(c)
		r.count(s, t.Cluster, c)
		if c.Action == mirror.ActionDelete {
			r.recordDelete(s, t.Cluster)
		}
		p.book.drop(copyKey(o.GroupVersionKind().GroupKind(), o.GetNamespace(), o.GetName()))
	}
}

// sourceGone confirms with a read of the source that a copy's source object is really gone or
// excluded on purpose (drsyncer.io/exclude, resources.selector, a kind or type never mirrored).
// A source that merely lost the replication label gets it back and is not gone.
func (r *Reconciler) sourceGone(ctx context.Context, s *subject, copy *metav1.PartialObjectMetadata) (bool, error) {
	_, ns, name, ok := transform.ParseSourceRef(copy.GetAnnotations()[transform.AnnotationSource])
	if !ok {
		return false, fmt.Errorf("its %s annotation %q is not cluster/namespace/name", transform.AnnotationSource, copy.GetAnnotations()[transform.AnnotationSource])
	}
	gvk := copy.GroupVersionKind()
	src := &unstructured.Unstructured{}
	src.SetGroupVersionKind(gvk)
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, src); err != nil {
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}
	if src.GetDeletionTimestamp() != nil || s.scope.SkipReason(gvk.GroupKind(), src, secretType(src)) != "" || !s.scope.Selects(src) {
		return true, nil
	}
	if src.GetLabels()[v1alpha1.LabelReplication] == "" {
		patch := s.labelPatch()
		if err := r.Client.Patch(ctx, src, patch); err != nil && !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("failed to put the replication label back on %s %s/%s: %w", gvk.Kind, ns, name, err)
		}
		logf.FromContext(ctx).Info("source object had lost its replication label: labeled again, its copy kept", "kind", gvk.Kind, "object", klog.KRef(ns, name))
	}
	return false, nil
}

// goneSources returns the DR namespaces the last pass fed (status) that this one does not, whose
// source namespace is gone: DR namespace → source namespace, read from the copies there. A
// namespace that still exists but is no longer covered is not listed: its copies stay, unreported.
func (r *Reconciler) goneSources(ctx context.Context, s *subject, t v1alpha1.Target, cl *clusters.Cluster, kinds []schema.GroupVersionKind, fed []string) map[string]string {
	prev := findTarget(s.status.Targets, t.Cluster)
	if prev == nil {
		return nil
	}
	out := map[string]string{}
	for _, dest := range prev.Namespaces {
		if slices.Contains(fed, dest) {
			continue
		}
		ns := r.sourceOfCopies(ctx, cl, kinds, s, dest)
		if ns == "" {
			continue // no copies left there
		}
		if err := r.Client.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}); apierrors.IsNotFound(err) {
			out[dest] = ns
		}
	}
	return out
}

// sourceOfCopies is the source namespace of the replication's copies in a DR namespace, "" when
// it holds none.
func (r *Reconciler) sourceOfCopies(ctx context.Context, cl *clusters.Cluster, kinds []schema.GroupVersionKind, s *subject, dest string) string {
	for _, gvk := range kinds {
		if cl.Watch(ctx, gvk) != nil {
			continue
		}
		live, err := r.liveCopies(ctx, cl, gvk, s, []string{dest})
		if err != nil {
			continue
		}
		for _, o := range live {
			if _, ns, _, ok := transform.ParseSourceRef(o.GetAnnotations()[transform.AnnotationSource]); ok {
				return ns
			}
		}
	}
	return ""
}
