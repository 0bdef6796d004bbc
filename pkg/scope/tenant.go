package scope

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/nstemplate"
)

// Refusal is one reason a namespaced Replication may not write to a target, and the target field
// (namespace or cluster) it is about.
type Refusal struct {
	Field   string
	Message string
}

// TenantRefusals limit a namespaced Replication in namespace ns (whose labels are nsLabels): it
// writes only into the DR namespace of its own name, and only to a RemoteCluster whose
// allowedNamespaces selects ns (rc nil: not known, only the namespace rule applies). The
// validating webhook rejects with these; the controller refuses to write with them, so a
// Replication admitted while the webhook was down, or before an admin narrowed the RemoteCluster,
// still cannot write where it may not.
func TenantRefusals(ns string, nsLabels map[string]string, t v1alpha1.Target, rc *v1alpha1.RemoteCluster) []Refusal {
	var out []Refusal
	if dest, err := nstemplate.Render(t.Namespace, ns); err == nil && dest != ns {
		out = append(out, Refusal{Field: "namespace",
			Message: fmt.Sprintf("a Replication may only write to the DR namespace of its own name %q, not %q; use a ClusterReplication to map namespaces", ns, dest)})
	}
	if rc == nil {
		return out
	}
	allowed := false
	if rc.Spec.AllowedNamespaces != nil {
		if s, err := metav1.LabelSelectorAsSelector(rc.Spec.AllowedNamespaces); err == nil {
			allowed = s.Matches(labels.Set(nsLabels))
		}
	}
	if !allowed {
		out = append(out, Refusal{Field: "cluster",
			Message: fmt.Sprintf("RemoteCluster %q does not allow Replications from namespace %q (its spec.allowedNamespaces does not select it)", t.Cluster, ns)})
	}
	return out
}
