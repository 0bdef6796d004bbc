package replication

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/clusters"
	"github.com/drsyncer/dr-syncer/pkg/mirror"
	"github.com/drsyncer/dr-syncer/pkg/transform"
)

// deleteBudget is the target's budget for this pass: the breaker's limit over the copies it
// manages now, less what it deleted within the window (remembered here and in status, so a slow
// drain or a restart does not escape it); unlimited when an operator approved this pass.
func (r *Reconciler) deleteBudget(s *subject, t v1alpha1.Target, managed int, approved bool) *mirror.Budget {
	deleted := r.deleteLog(s, t).Within(r.Now(), r.Options.DeleteWindow)
	return mirror.NewBudget(mirror.DeleteBudget(managed, deleted, r.Options.MaxPruneFraction, r.Options.MinPrune, approved))
}

// deleteLog is what is known of a target's recent deletes: this process's, merged with the log
// the last pass left in status (a restart or a new leader starts from that).
func (r *Reconciler) deleteLog(s *subject, t v1alpha1.Target) mirror.DeleteLog {
	persisted := mirror.DeleteLog{}
	if prev := s.status.Target(t.Cluster); prev != nil {
		for _, d := range prev.RecentDeletions {
			persisted.Add(d.Minute.Time, int(d.Count))
		}
	}
	return r.mem.deletes.Merged(s.ref, t.Cluster, persisted, r.Now(), r.Options.DeleteWindow)
}

// sourceGone confirms with a read of the source that a copy's source object is gone (see
// source.Labeler.Gone).
func (r *Reconciler) sourceGone(ctx context.Context, s *subject, copy *metav1.PartialObjectMetadata) (bool, error) {
	_, ns, name, ok := transform.ParseSourceRef(copy.GetAnnotations()[keys.AnnotationSource])
	if !ok {
		return false, fmt.Errorf("its %s annotation %q is not cluster/namespace/name", keys.AnnotationSource, copy.GetAnnotations()[keys.AnnotationSource])
	}
	return s.labeler(r).Gone(ctx, copy.GroupVersionKind(), ns, name)
}

// goneSources returns the DR namespaces the last pass fed (status) that this one does not, whose
// source namespace is gone: DR namespace → source namespace, read from the copies there. A
// namespace that still exists but is no longer covered is not listed: its copies stay, unreported.
func (r *Reconciler) goneSources(ctx context.Context, s *subject, t v1alpha1.Target, cl *clusters.Cluster, kinds []schema.GroupVersionKind, fed []string) map[string]string {
	prev := s.status.Target(t.Cluster)
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
			if _, ns, _, ok := transform.ParseSourceRef(o.GetAnnotations()[keys.AnnotationSource]); ok {
				return ns
			}
		}
	}
	return ""
}
