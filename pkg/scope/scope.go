// Package scope decides what a replication covers: which kinds, which objects, which source
// namespaces. Pure functions shared by the labeling webhooks and the controllers.
package scope

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

// DefaultKinds is the DR-sensible default set mirrored when a replication lists no kinds, in the
// order they are applied on DR (DESIGN §3).
var DefaultKinds = []schema.GroupKind{
	{Kind: "ServiceAccount"},
	{Group: "rbac.authorization.k8s.io", Kind: "Role"},
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"},
	{Kind: "ConfigMap"},
	{Kind: "Secret"},
	{Kind: "PersistentVolumeClaim"},
	{Kind: "Service"},
	{Group: "apps", Kind: "Deployment"},
	{Group: "apps", Kind: "StatefulSet"},
	{Group: "apps", Kind: "DaemonSet"},
	{Group: "batch", Kind: "CronJob"},
	{Group: "networking.k8s.io", Kind: "Ingress"},
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"},
	{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"},
	{Group: "policy", Kind: "PodDisruptionBudget"},
}

// neverMirrored kinds are runtime state: copying them to DR is wrong whatever a spec says.
var neverMirrored = []schema.GroupKind{
	{Kind: "Pod"},
	{Kind: "Event"},
	{Group: "events.k8s.io", Kind: "Event"},
	{Kind: "Endpoints"},
	{Group: "discovery.k8s.io", Kind: "EndpointSlice"},
	{Group: "apps", Kind: "ReplicaSet"},
	{Group: "apps", Kind: "ControllerRevision"},
	{Group: "coordination.k8s.io", Kind: "Lease"},
	{Group: "batch", Kind: "Job"},
}

// Secret types never mirrored.
const (
	SecretTypeHelmRelease = "helm.sh/release.v1"
)

// Kinds returns the kinds a selection mirrors: include (or the default set) minus exclude and
// minus the kinds that are never mirrored.
func Kinds(sel v1alpha1.ResourceSelection) []schema.GroupKind {
	include := DefaultKinds
	if len(sel.Include) > 0 {
		include = make([]schema.GroupKind, 0, len(sel.Include))
		for _, gk := range sel.Include {
			include = append(include, schema.GroupKind{Group: gk.Group, Kind: gk.Kind})
		}
	}
	out := make([]schema.GroupKind, 0, len(include))
	for _, gk := range include {
		excluded := slices.ContainsFunc(sel.Exclude, func(e v1alpha1.GroupKind) bool { return e.Group == gk.Group && e.Kind == gk.Kind })
		if !excluded && !IsNeverMirroredKind(gk) && !slices.Contains(out, gk) {
			out = append(out, gk)
		}
	}
	return out
}

// ClusterScopedRefusal is why a cluster-scoped kind is never in a replication's resources: a
// replication mirrors the objects of its source namespaces only (a tenant's, its own namespace),
// and dr-syncer creates the DR namespaces itself.
func ClusterScopedRefusal(gk schema.GroupKind) string {
	return fmt.Sprintf("%s is cluster-scoped: a replication mirrors only namespaced kinds, the objects of its source namespaces (dr-syncer creates the DR namespaces itself)", gk)
}

// ClusterScopedIncludes returns the indexes in sel.Include of kinds that isNamespaced says are
// cluster-scoped; kinds it does not know (not served) are left to the pass, which reports them.
func ClusterScopedIncludes(sel v1alpha1.ResourceSelection, isNamespaced func(schema.GroupKind) (bool, error)) []int {
	var out []int
	for i, gk := range sel.Include {
		if namespaced, err := isNamespaced(schema.GroupKind{Group: gk.Group, Kind: gk.Kind}); err == nil && !namespaced {
			out = append(out, i)
		}
	}
	return out
}

// IsNeverMirroredKind reports whether gk is runtime state that is never mirrored.
func IsNeverMirroredKind(gk schema.GroupKind) bool { return slices.Contains(neverMirrored, gk) }

// IsExcluded reports whether the object opted out with drsyncer.io/exclude=true (label or annotation).
func IsExcluded(obj metav1.Object) bool {
	return obj.GetLabels()[keys.KeyExclude] == "true" || obj.GetAnnotations()[keys.KeyExclude] == "true"
}

// SkipReason says why an object of a mirrored kind is still never mirrored, or "" when it is
// mirrored. secretType is the Secret's type ("" for other kinds).
func SkipReason(gk schema.GroupKind, obj metav1.Object, secretType string, includeHelmReleases bool) string {
	if IsNeverMirroredKind(gk) {
		return "kind is never mirrored"
	}
	if IsExcluded(obj) {
		return "excluded by " + keys.KeyExclude
	}
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
		return "owned by controller " + ref.Kind + "/" + ref.Name
	}
	if gk == (schema.GroupKind{Kind: "Secret"}) {
		switch secretType {
		case string(corev1.SecretTypeServiceAccountToken):
			return "service-account-token Secret"
		case SecretTypeHelmRelease:
			if !includeHelmReleases {
				return "Helm release Secret"
			}
		}
	}
	return ""
}

// ClusterReplicationCovers reports whether the ClusterReplication named name with the given
// selector covers a namespace: by the opt-in annotation or by the selector.
func ClusterReplicationCovers(name string, selector *metav1.LabelSelector, ns *corev1.Namespace) bool {
	if ns.Annotations[keys.AnnotationReplicate] == name {
		return true
	}
	if selector == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(ns.Labels))
}

// SourceNamespaces returns the names of the namespaces a ClusterReplication covers, sorted.
func SourceNamespaces(name string, selector *metav1.LabelSelector, namespaces []corev1.Namespace) []string {
	var out []string
	for i := range namespaces {
		if IsSystemNamespace(namespaces[i].Name) {
			continue
		}
		if ClusterReplicationCovers(name, selector, &namespaces[i]) {
			out = append(out, namespaces[i].Name)
		}
	}
	slices.Sort(out)
	return out
}

// InvalidReplicationName says why a replication name cannot be the value of the replication label
// (nil when it can): a DNS-1123 label of at most 63 characters.
func InvalidReplicationName(name string) []string {
	return validation.IsDNS1123Label(name)
}

// IsSystemNamespace reports whether a source namespace is never replicated.
func IsSystemNamespace(ns string) bool {
	return ns == "kube-system" || ns == "kube-public" || ns == "kube-node-lease"
}

// SourceSelector selects the source objects a replication may mirror: those carrying the
// replication label (the source cache holds only these).
func SourceSelector() labels.Selector {
	req, _ := labels.NewRequirement(keys.LabelReplication, selection.Exists, nil)
	return labels.NewSelector().Add(*req)
}

// ObjectSelector selects the source objects a replication's resources cover: those carrying the
// replication label and matching resources.selector, when set.
func ObjectSelector(sel v1alpha1.ResourceSelection) (labels.Selector, error) {
	out := SourceSelector()
	if sel.Selector == nil {
		return out, nil
	}
	extra, err := metav1.LabelSelectorAsSelector(sel.Selector)
	if err != nil {
		return nil, fmt.Errorf("invalid resources.selector: %w", err)
	}
	reqs, _ := extra.Requirements()
	return out.Add(reqs...), nil
}
