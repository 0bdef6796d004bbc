// Package coverage keeps the replication label on the source namespaces that replications cover,
// and only there: the resource-labeling webhook selects on it, so that the API server never calls
// dr-syncer for a write in a namespace nothing replicates.
package coverage

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/scope"
)

// Reconciler labels one Namespace with the replication that covers it (scope.NamespaceLabel).
type Reconciler struct {
	Client client.Client
	// Namespace is the controller's namespace: never covered.
	Namespace string
}

// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=drsyncer.io,resources=clusterreplications;replications,verbs=get;list;watch

// Reconcile sets, changes or removes the label of one namespace.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ns corev1.Namespace
	if err := r.Client.Get(ctx, req.NamespacedName, &ns); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	want, err := r.wantLabel(ctx, &ns)
	if err != nil {
		return ctrl.Result{}, err
	}
	has := ns.Labels[keys.LabelReplication]
	if has == want {
		return ctrl.Result{}, nil
	}
	var value any // null removes the label
	if want != "" {
		value = want
	}
	body, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]any{keys.LabelReplication: value}}})
	if err := r.Client.Patch(ctx, &ns, client.RawPatch(types.MergePatchType, body)); err != nil {
		return ctrl.Result{}, fmt.Errorf("failed to label namespace %s: %w", ns.Name, client.IgnoreNotFound(err))
	}
	logf.FromContext(ctx).Info("namespace coverage changed", "namespace", ns.Name, "from", has, "to", want)
	return ctrl.Result{}, nil
}

// wantLabel is the label the namespace should carry ("" for none).
func (r *Reconciler) wantLabel(ctx context.Context, ns *corev1.Namespace) (string, error) {
	if ns.Name == r.Namespace || ns.DeletionTimestamp != nil {
		return ns.Labels[keys.LabelReplication], nil // left as it is
	}
	var rs v1alpha1.ReplicationList
	if err := r.Client.List(ctx, &rs, client.InNamespace(ns.Name)); err != nil {
		return "", fmt.Errorf("failed to list Replications: %w", err)
	}
	var crs v1alpha1.ClusterReplicationList
	if err := r.Client.List(ctx, &crs); err != nil {
		return "", fmt.Errorf("failed to list ClusterReplications: %w", err)
	}
	return scope.NamespaceLabel(scope.Coverers(ns, rs.Items, crs.Items)), nil
}

// SetupWithManager registers the controller: a namespace is looked at when its labels or
// annotations change, when a Replication in it comes or goes, and when a ClusterReplication does.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&corev1.Namespace{}, builder.WithPredicates(predicate.Or(predicate.LabelChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&v1alpha1.Replication{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ctrl.Request {
			return []ctrl.Request{{NamespacedName: types.NamespacedName{Name: o.GetNamespace()}}}
		}), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.ClusterReplication{}, handler.EnqueueRequestsFromMapFunc(r.allNamespaces), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("coverage").
		Complete(r)
}

func (r *Reconciler) allNamespaces(ctx context.Context, _ client.Object) []ctrl.Request {
	var list corev1.NamespaceList
	if err := r.Client.List(ctx, &list); err != nil {
		return nil
	}
	reqs := make([]ctrl.Request, 0, len(list.Items))
	for _, ns := range list.Items {
		reqs = append(reqs, ctrl.Request{NamespacedName: types.NamespacedName{Name: ns.Name}})
	}
	return reqs
}
