package webhooks

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

// +kubebuilder:webhook:path=/mutate-drsyncer-io-v1alpha1-remotecluster,mutating=true,failurePolicy=ignore,sideEffects=None,groups=drsyncer.io,resources=remoteclusters,verbs=create;update,versions=v1alpha1,name=mremotecluster.drsyncer.io,admissionReviewVersions=v1,timeoutSeconds=5,serviceName=dr-syncer-webhook,serviceNamespace=dr-syncer-system
// +kubebuilder:webhook:path=/validate-drsyncer-io-v1alpha1-remotecluster,mutating=false,failurePolicy=fail,sideEffects=None,groups=drsyncer.io,resources=remoteclusters,verbs=create;update;delete,versions=v1alpha1,name=vremotecluster.drsyncer.io,admissionReviewVersions=v1,timeoutSeconds=10,serviceName=dr-syncer-webhook,serviceNamespace=dr-syncer-system

type remoteClusterDefaulter struct{}

func (remoteClusterDefaulter) Default(_ context.Context, rc *v1alpha1.RemoteCluster) error {
	rc.Spec.Default()
	return nil
}

// remoteClusterValidator warns about a missing kubeconfig Secret and about deleting a cluster that
// replications still use; both are legal (apply order, decommissioning) but rarely meant.
type remoteClusterValidator struct {
	client    client.Reader
	apiReader client.Reader
	opts      Options
}

func (v *remoteClusterValidator) ValidateCreate(ctx context.Context, rc *v1alpha1.RemoteCluster) (admission.Warnings, error) {
	return v.check(ctx, rc)
}

func (v *remoteClusterValidator) ValidateUpdate(ctx context.Context, _, rc *v1alpha1.RemoteCluster) (admission.Warnings, error) {
	return v.check(ctx, rc)
}

func (v *remoteClusterValidator) check(ctx context.Context, rc *v1alpha1.RemoteCluster) (admission.Warnings, error) {
	var errs field.ErrorList
	if sel := rc.Spec.AllowedNamespaces; sel != nil {
		if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("spec", "allowedNamespaces"), sel, err.Error()))
		}
	}
	var warnings admission.Warnings
	var s corev1.Secret
	key := client.ObjectKey{Namespace: v.opts.ControllerNamespace, Name: rc.Spec.KubeconfigSecretRef.Name}
	switch err := v.apiReader.Get(ctx, key, &s); {
	case apierrors.IsNotFound(err):
		warnings = append(warnings, fmt.Sprintf("spec.kubeconfigSecretRef.name: Secret %s/%s does not exist yet; the cluster stays not Ready until it does", key.Namespace, key.Name))
	case err != nil:
		return nil, fmt.Errorf("failed to read Secret %s: %w", key, err)
	}
	return warnings, invalid(rc, errs)
}

func (v *remoteClusterValidator) ValidateDelete(ctx context.Context, rc *v1alpha1.RemoteCluster) (admission.Warnings, error) {
	// Read through: a replication created a moment ago may not be in the cache yet, and deletes are rare.
	users, err := usersOf(ctx, v.apiReader, rc.Name)
	if err != nil || len(users) == 0 {
		return nil, err
	}
	return admission.Warnings{fmt.Sprintf("RemoteCluster %q is still a target of %v; they will report it unavailable", rc.Name, users)}, nil
}

// usersOf lists the replications that target a RemoteCluster.
func usersOf(ctx context.Context, c client.Reader, cluster string) ([]string, error) {
	var users []string
	var crs v1alpha1.ClusterReplicationList
	if err := c.List(ctx, &crs); err != nil {
		return nil, fmt.Errorf("failed to list ClusterReplications: %w", err)
	}
	for i := range crs.Items {
		if crs.Items[i].Spec.HasTarget(cluster) {
			users = append(users, "ClusterReplication/"+crs.Items[i].Name)
		}
	}
	var rs v1alpha1.ReplicationList
	if err := c.List(ctx, &rs); err != nil {
		return nil, fmt.Errorf("failed to list Replications: %w", err)
	}
	for i := range rs.Items {
		if rs.Items[i].Spec.HasTarget(cluster) {
			users = append(users, "Replication/"+rs.Items[i].Namespace+"/"+rs.Items[i].Name)
		}
	}
	return users, nil
}
