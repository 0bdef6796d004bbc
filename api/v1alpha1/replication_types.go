package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterReplicationSpec is ReplicationSpec plus the namespaces it covers.
type ClusterReplicationSpec struct {
	ReplicationSpec `json:",inline"`

	// NamespaceSelector adds the namespaces whose labels match to those that opted in with the
	// drsyncer.io/replicate annotation naming this ClusterReplication.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// ClusterReplication mirrors many namespaces to DR clusters: those whose drsyncer.io/replicate
// annotation names it, plus those its namespaceSelector matches. For platform admins.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=crepl,categories=drsyncer
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="must be a DNS-1123 label of at most 63 characters (lower-case letters, digits and '-'): the name is the value of the drsyncer.io/replication label on every object it covers",fieldPath=".metadata.name"
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Targets",type=string,JSONPath=`.spec.targets[*].cluster`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Drifted",type=string,JSONPath=`.status.conditions[?(@.type=="Drifted")].status`
// +kubebuilder:printcolumn:name="Failover-Ready",type=string,JSONPath=`.status.conditions[?(@.type=="FailoverReady")].status`
// +kubebuilder:printcolumn:name="Last-Sync",type=date,JSONPath=`.status.lastSyncTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterReplication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterReplicationSpec `json:"spec"`
	Status ReplicationStatus      `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterReplicationList is a list of ClusterReplications.
type ClusterReplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterReplication `json:"items"`
}

// Replication mirrors its own namespace to DR clusters. For namespace owners: it can never read
// another namespace, and it may only target RemoteClusters that allow its namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=repl,categories=drsyncer
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="must be a DNS-1123 label of at most 63 characters (lower-case letters, digits and '-'): the name is the value of the drsyncer.io/replication label on every object it covers",fieldPath=".metadata.name"
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Targets",type=string,JSONPath=`.spec.targets[*].cluster`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Drifted",type=string,JSONPath=`.status.conditions[?(@.type=="Drifted")].status`
// +kubebuilder:printcolumn:name="Failover-Ready",type=string,JSONPath=`.status.conditions[?(@.type=="FailoverReady")].status`
// +kubebuilder:printcolumn:name="Last-Sync",type=date,JSONPath=`.status.lastSyncTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Replication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ReplicationSpec   `json:"spec"`
	Status ReplicationStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ReplicationList is a list of Replications.
type ReplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Replication `json:"items"`
}

func init() {
	objects = append(objects, &ClusterReplication{}, &ClusterReplicationList{}, &Replication{}, &ReplicationList{})
}
