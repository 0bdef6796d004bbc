package replication

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/scope"
	"github.com/drsyncer/dr-syncer/pkg/source"
)

// subject is a replication of either kind, seen through what a pass needs.
type subject struct {
	obj    v1alpha1.AnyReplication
	spec   *v1alpha1.ReplicationSpec
	status *v1alpha1.ReplicationStatus
	// ref names the replication in metrics and logs: "prod" or "shop/app".
	ref string
	// scope decides what it mirrors, as the labeling webhook does.
	scope *scope.Scope
}

func (s *subject) name() string     { return s.obj.GetName() }
func (s *subject) namespaced() bool { return s.obj.GetNamespace() != "" }
func (s *subject) requested() string {
	return s.obj.GetAnnotations()[keys.AnnotationSyncRequestedAt]
}

// deletesApproved says an operator approved, with a new drsyncer.io/approve-deletes value, the
// deletes the mass-delete breaker holds back.
func (s *subject) deletesApproved() bool {
	v := s.obj.GetAnnotations()[keys.AnnotationApproveDeletes]
	return v != "" && v != s.status.LastHandledDeleteApproval
}

// labeler labels the source objects of the replication that lack its label.
func (s *subject) labeler(r *Reconciler) source.Labeler {
	return source.Labeler{Reader: r.APIReader, Writer: r.Client, Replication: s.name(), Scope: s.scope}
}

// cliName is how kubectl drsyncer names the replication.
func (s *subject) cliName() string {
	if s.namespaced() {
		return s.name() + " -n " + s.obj.GetNamespace()
	}
	return s.name()
}
func (s *subject) copy() client.Object { return s.obj.DeepCopyObject().(client.Object) }

// fetch reads the replication of req, or returns nil when it is gone.
func (r *Reconciler) fetch(ctx context.Context, req ctrl.Request) (*subject, error) {
	if !r.Namespaced && req.Namespace != "" {
		return nil, nil // a trigger meant for the namespaced kind
	}
	obj := v1alpha1.NewReplication(r.Namespaced)
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(v1alpha1.RefOf(&metav1.ObjectMeta{Namespace: req.Namespace, Name: req.Name}))
		}
		return nil, client.IgnoreNotFound(err)
	}
	return &subject{obj: obj, spec: obj.ReplicationSpec(), status: obj.ReplicationStatus(), ref: v1alpha1.RefOf(obj),
		scope: scope.Of(obj.ReplicationSpec().Resources)}, nil
}

// replications lists the replications of the reconciler's kind (of one namespace, when given).
func (r *Reconciler) replications(ctx context.Context, namespace string) []v1alpha1.AnyReplication {
	var out []v1alpha1.AnyReplication
	if r.Namespaced {
		var list v1alpha1.ReplicationList
		if err := r.Client.List(ctx, &list, client.InNamespace(namespace)); err == nil {
			for i := range list.Items {
				out = append(out, &list.Items[i])
			}
		}
		return out
	}
	var list v1alpha1.ClusterReplicationList
	if err := r.Client.List(ctx, &list); err == nil {
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
	}
	return out
}

// forget drops what is kept about a replication that is gone: its metric series (so that no
// alert fires for it), its retry, breaker and backfill entries; the source informers only it used become idle.
func (r *Reconciler) forget(ref string) {
	r.Metrics.ForgetReplication(ref)
	r.shared.informers.Use(ref, nil)
	r.mem.copies.ForgetReplication(ref)
	r.mem.deletes.ForgetReplication(ref)
	r.mem.dependencies.Forget(ref)
	r.mem.retries.Forget(ref)
	r.mem.backfills.Forget(ref)
}
