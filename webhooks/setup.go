// Package webhooks holds dr-syncer's admission webhooks: defaulting and validation of the three
// kinds, and the mutating webhooks that label opted-in Namespaces and the resources in them.
//
// +kubebuilder:webhookconfiguration:mutating=true,name=dr-syncer-mutating
// +kubebuilder:webhookconfiguration:mutating=false,name=dr-syncer-validating
package webhooks

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

// Paths of the labeling webhooks (the CRD webhooks use controller-runtime's generated paths).
const (
	PathLabelNamespace = "/label-namespace"
	PathLabelResource  = "/label-resource"
)

// Options are what the webhooks need to know about the installation.
type Options struct {
	// ControllerNamespace is the namespace dr-syncer runs in; it holds kubeconfig Secrets and is
	// never a replication source or target.
	ControllerNamespace string
	// ControllerUsername is the user the controller writes as (its service account); the resource
	// labeler skips its requests, since the controller labels what it writes itself.
	ControllerUsername string
	// SourceServer is the source API server URL, to refuse targets that point back at it.
	SourceServer string
}

// What the webhooks read: the three kinds and Namespaces from the cache, kubeconfig Secrets
// directly and only in the controller's namespace.
// +kubebuilder:rbac:groups=drsyncer.io,resources=remoteclusters;clusterreplications;replications,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get,namespace=dr-syncer-system

// Setup registers every webhook with the manager's webhook server.
func Setup(mgr ctrl.Manager, opts Options) error {
	repl := &replicationWebhook{client: mgr.GetClient(), apiReader: mgr.GetAPIReader(), opts: opts,
		isNamespaced: func(gk schema.GroupKind) (bool, error) {
			return apiutil.IsGVKNamespaced(gk.WithVersion(""), mgr.GetRESTMapper())
		}}
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.Replication{}).
		WithDefaulter(defaulter[*v1alpha1.Replication]{}).
		WithValidator(validator[*v1alpha1.Replication]{repl}).Complete(); err != nil {
		return fmt.Errorf("failed to set up the Replication webhooks: %w", err)
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.ClusterReplication{}).
		WithDefaulter(defaulter[*v1alpha1.ClusterReplication]{}).
		WithValidator(validator[*v1alpha1.ClusterReplication]{repl}).Complete(); err != nil {
		return fmt.Errorf("failed to set up the ClusterReplication webhooks: %w", err)
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.RemoteCluster{}).
		WithDefaulter(remoteClusterDefaulter{}).
		WithValidator(&remoteClusterValidator{client: mgr.GetClient(), apiReader: mgr.GetAPIReader(), opts: opts}).Complete(); err != nil {
		return fmt.Errorf("failed to set up the RemoteCluster webhooks: %w", err)
	}
	srv := mgr.GetWebhookServer()
	srv.Register(PathLabelNamespace, &webhook.Admission{Handler: namespaceLabeler{}})
	srv.Register(PathLabelResource, &webhook.Admission{Handler: &resourceLabeler{client: mgr.GetClient(), opts: opts}})
	return nil
}

var _ admission.Handler = namespaceLabeler{}
