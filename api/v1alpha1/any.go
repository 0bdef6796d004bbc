package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// AnyReplication is either replication kind, seen through what both have: the controller, the
// webhooks and the kubectl plugin treat them alike through it.
// +kubebuilder:object:generate=false
type AnyReplication interface {
	metav1.Object
	runtime.Object
	ReplicationSpec() *ReplicationSpec
	ReplicationStatus() *ReplicationStatus
	// NamespaceSelector is a ClusterReplication's (nil for a Replication: its own namespace).
	NamespaceSelector() *metav1.LabelSelector
}

// NewReplication is an empty Replication (namespaced) or ClusterReplication, to read one into.
func NewReplication(namespaced bool) AnyReplication {
	if namespaced {
		return &Replication{}
	}
	return &ClusterReplication{}
}

// RefOf names a replication in metrics, logs and events: "name" for a ClusterReplication,
// "namespace/name" for a Replication.
func RefOf(r metav1.Object) string {
	if ns := r.GetNamespace(); ns != "" {
		return ns + "/" + r.GetName()
	}
	return r.GetName()
}

// KindOf is the kind of a replication.
func KindOf(r metav1.Object) string {
	if r.GetNamespace() != "" {
		return "Replication"
	}
	return "ClusterReplication"
}

func (r *ClusterReplication) ReplicationSpec() *ReplicationSpec     { return &r.Spec.ReplicationSpec }
func (r *ClusterReplication) ReplicationStatus() *ReplicationStatus { return &r.Status }
func (r *ClusterReplication) NamespaceSelector() *metav1.LabelSelector {
	return r.Spec.NamespaceSelector
}
func (r *Replication) ReplicationSpec() *ReplicationSpec        { return &r.Spec }
func (r *Replication) ReplicationStatus() *ReplicationStatus    { return &r.Status }
func (r *Replication) NamespaceSelector() *metav1.LabelSelector { return nil }
