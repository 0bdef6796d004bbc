package webhooks

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/scope"
)

// +kubebuilder:webhook:path=/mutate-drsyncer-io-v1alpha1-replication,mutating=true,failurePolicy=ignore,sideEffects=None,groups=drsyncer.io,resources=replications,verbs=create;update,versions=v1alpha1,name=mreplication.drsyncer.io,admissionReviewVersions=v1,timeoutSeconds=5,serviceName=dr-syncer-webhook,serviceNamespace=dr-syncer-system
// +kubebuilder:webhook:path=/validate-drsyncer-io-v1alpha1-replication,mutating=false,failurePolicy=fail,sideEffects=None,groups=drsyncer.io,resources=replications,verbs=create;update,versions=v1alpha1,name=vreplication.drsyncer.io,admissionReviewVersions=v1,timeoutSeconds=10,serviceName=dr-syncer-webhook,serviceNamespace=dr-syncer-system
// +kubebuilder:webhook:path=/mutate-drsyncer-io-v1alpha1-clusterreplication,mutating=true,failurePolicy=ignore,sideEffects=None,groups=drsyncer.io,resources=clusterreplications,verbs=create;update,versions=v1alpha1,name=mclusterreplication.drsyncer.io,admissionReviewVersions=v1,timeoutSeconds=5,serviceName=dr-syncer-webhook,serviceNamespace=dr-syncer-system
// +kubebuilder:webhook:path=/validate-drsyncer-io-v1alpha1-clusterreplication,mutating=false,failurePolicy=fail,sideEffects=None,groups=drsyncer.io,resources=clusterreplications,verbs=create;update,versions=v1alpha1,name=vclusterreplication.drsyncer.io,admissionReviewVersions=v1,timeoutSeconds=10,serviceName=dr-syncer-webhook,serviceNamespace=dr-syncer-system

// The defaulting webhooks use failurePolicy Ignore: with the webhook down the CRD's own schema
// defaults and CEL rules still apply, and the controller applies the same Default() itself.

// defaulter fills the defaults of either replication kind.
type defaulter[T v1alpha1.AnyReplication] struct{}

func (defaulter[T]) Default(_ context.Context, obj T) error {
	obj.ReplicationSpec().Default()
	return nil
}

// replicationWebhook gathers the world the rules look at. Reads come from the manager's cache,
// except kubeconfig Secrets, which are read directly so that no Secret is cached cluster-wide.
type replicationWebhook struct {
	client    client.Reader
	apiReader client.Reader
	opts      Options
	// isNamespaced asks the source's REST mapper whether a kind is namespaced.
	isNamespaced func(schema.GroupKind) (bool, error)
}

func (r *replicationWebhook) validate(ctx context.Context, self claim) (admission.Warnings, field.ErrorList, error) {
	w, err := r.gather(ctx, self.ref)
	if err != nil {
		return nil, nil, err
	}
	errs := validateSpec(self.spec, field.NewPath("spec"))
	if r.isNamespaced != nil {
		include := field.NewPath("spec", "resources", "include")
		for _, i := range scope.ClusterScopedIncludes(self.spec.Resources, r.isNamespaced) {
			gk := self.spec.Resources.Include[i]
			errs = append(errs, field.Forbidden(include.Index(i), scope.ClusterScopedRefusal(schema.GroupKind{Group: gk.Group, Kind: gk.Kind})))
		}
	}
	warnings, crossErrs := validateClaim(self, w)
	return warnings, append(errs, crossErrs...), nil
}

func (r *replicationWebhook) gather(ctx context.Context, selfRef string) (world, error) {
	w := world{
		controllerNamespace: r.opts.ControllerNamespace,
		sourceServer:        r.opts.SourceServer,
		clusters:            map[string]*v1alpha1.RemoteCluster{},
		clusterServers:      map[string]string{},
		namespaceLabels:     map[string]map[string]string{},
	}
	var rcs v1alpha1.RemoteClusterList
	if err := r.client.List(ctx, &rcs); err != nil {
		return w, fmt.Errorf("failed to list RemoteClusters: %w", err)
	}
	for i := range rcs.Items {
		rc := &rcs.Items[i]
		w.clusters[rc.Name] = rc
		w.clusterServers[rc.Name] = r.serverOf(ctx, rc)
	}
	var nss corev1.NamespaceList
	if err := r.client.List(ctx, &nss); err != nil {
		return w, fmt.Errorf("failed to list Namespaces: %w", err)
	}
	for i := range nss.Items {
		w.namespaceLabels[nss.Items[i].Name] = nss.Items[i].Labels
	}
	var crs v1alpha1.ClusterReplicationList
	if err := r.client.List(ctx, &crs); err != nil {
		return w, fmt.Errorf("failed to list ClusterReplications: %w", err)
	}
	for i := range crs.Items {
		c := claimOf(&crs.Items[i], nss.Items)
		if c.ref != selfRef {
			w.others = append(w.others, c)
		}
	}
	var rs v1alpha1.ReplicationList
	if err := r.client.List(ctx, &rs); err != nil {
		return w, fmt.Errorf("failed to list Replications: %w", err)
	}
	for i := range rs.Items {
		c := claimOf(&rs.Items[i], nil)
		if c.ref != selfRef {
			w.others = append(w.others, c)
		}
	}
	return w, nil
}

// serverOf returns the server URL of a RemoteCluster's kubeconfig, or "" when it cannot be read;
// the RemoteCluster controller reports unreadable kubeconfigs, the webhook only needs the URL.
func (r *replicationWebhook) serverOf(ctx context.Context, rc *v1alpha1.RemoteCluster) string {
	var s corev1.Secret
	key := client.ObjectKey{Namespace: r.opts.ControllerNamespace, Name: rc.Spec.KubeconfigSecretRef.Name}
	if err := r.apiReader.Get(ctx, key, &s); err != nil {
		return ""
	}
	dataKey := rc.Spec.KubeconfigSecretRef.Key
	if dataKey == "" {
		dataKey = v1alpha1.DefaultKubeconfigKey
	}
	cfg, err := clientcmd.Load(s.Data[dataKey])
	if err != nil {
		return ""
	}
	if ctxt, ok := cfg.Contexts[cfg.CurrentContext]; ok {
		if cl, ok := cfg.Clusters[ctxt.Cluster]; ok {
			return cl.Server
		}
	}
	return ""
}

// claimOf is what a replication of either kind claims: its spec over its source namespaces.
func claimOf(r v1alpha1.AnyReplication, namespaces []corev1.Namespace) claim {
	c := claim{ref: scope.Owner(r.GetNamespace(), r.GetName()), namespace: r.GetNamespace(), spec: r.ReplicationSpec(), sources: []string{r.GetNamespace()}}
	if r.GetNamespace() == "" {
		c.sources = scope.SourceNamespaces(r.GetName(), r.NamespaceSelector(), namespaces)
	}
	return c
}

// validator validates either replication kind.
type validator[T v1alpha1.AnyReplication] struct{ *replicationWebhook }

func (v validator[T]) ValidateCreate(ctx context.Context, obj T) (admission.Warnings, error) {
	return v.check(ctx, obj)
}

func (v validator[T]) ValidateUpdate(ctx context.Context, _, obj T) (admission.Warnings, error) {
	return v.check(ctx, obj)
}

func (validator[T]) ValidateDelete(context.Context, T) (admission.Warnings, error) {
	return nil, nil
}

func (v validator[T]) check(ctx context.Context, obj T) (admission.Warnings, error) {
	errs := validateName(obj.GetName())
	var namespaces []corev1.Namespace
	if ns := obj.GetNamespace(); ns != "" {
		if ns == v.opts.ControllerNamespace || scope.IsSystemNamespace(ns) {
			errs = append(errs, field.Forbidden(field.NewPath("metadata", "namespace"), fmt.Sprintf("namespace %q is never replicated", ns)))
		}
	} else {
		var nss corev1.NamespaceList
		if err := v.client.List(ctx, &nss); err != nil {
			return nil, fmt.Errorf("failed to list Namespaces: %w", err)
		}
		namespaces = nss.Items
		if sel := obj.NamespaceSelector(); sel != nil {
			if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
				errs = append(errs, field.Invalid(field.NewPath("spec", "namespaceSelector"), sel, err.Error()))
			}
		}
	}
	warnings, ruleErrs, err := v.validate(ctx, claimOf(obj, namespaces))
	if err != nil {
		return nil, err
	}
	return warnings, invalid(obj, append(errs, ruleErrs...))
}

// invalid turns field errors into the Invalid status kubectl prints as "spec.x: Invalid value: ...".
func invalid(obj client.Object, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(v1alpha1.GroupVersion.WithKind(kindOf(obj)).GroupKind(), obj.GetName(), errs)
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *v1alpha1.Replication:
		return "Replication"
	case *v1alpha1.ClusterReplication:
		return "ClusterReplication"
	case *v1alpha1.RemoteCluster:
		return "RemoteCluster"
	}
	return obj.GetObjectKind().GroupVersionKind().Kind
}
