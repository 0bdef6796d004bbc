package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RemoteClusterSpec says how to reach a DR cluster and who may target it.
// +kubebuilder:validation:XValidation:rule="!has(self.qps) || !has(self.burst) || self.burst >= self.qps",message="burst must be at least qps",fieldPath=".burst"
type RemoteClusterSpec struct {
	// KubeconfigSecretRef names the Secret, in the controller's namespace, that holds the
	// kubeconfig of the DR cluster. Kubeconfigs with exec or auth-provider plugins, file
	// references, insecure-skip-tls-verify or proxy-url are refused unless the controller allows them.
	KubeconfigSecretRef SecretKeyRef `json:"kubeconfigSecretRef"`

	// QPS is the client's sustained request rate to this cluster (default 1000: an initial sync
	// should be bounded by the DR API server, whose priority and fairness protects it, not by the client).
	// +kubebuilder:default=1000
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	// +optional
	QPS int32 `json:"qps,omitempty"`

	// Burst is the client's request burst to this cluster (default twice qps; at least qps).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=20000
	// +optional
	Burst int32 `json:"burst,omitempty"`

	// HealthCheckInterval is how often the cluster is probed (default 30s; 5s to 1h).
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('5s') && duration(self) <= duration('1h')",message="healthCheckInterval must be between 5s and 1h"
	// +optional
	HealthCheckInterval *metav1.Duration `json:"healthCheckInterval,omitempty"`

	// AllowedNamespaces selects the source namespaces whose namespaced Replications may target this
	// cluster. Empty allows none; ClusterReplications are not limited by it. {} allows every namespace.
	// +optional
	AllowedNamespaces *metav1.LabelSelector `json:"allowedNamespaces,omitempty"`
}

// SecretKeyRef names a key of a Secret in the controller's namespace.
type SecretKeyRef struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Key in the Secret's data that holds the kubeconfig (default "kubeconfig").
	// +kubebuilder:default=kubeconfig
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Key string `json:"key,omitempty"`
}

// RemoteClusterStatus is the observed state of a DR cluster.
type RemoteClusterStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready says whether the cluster answers with the given kubeconfig, and why not.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ServerVersion is the Kubernetes version the cluster reported.
	// +optional
	ServerVersion string `json:"serverVersion,omitempty"`
	// LastProbeTime is when the cluster was last probed.
	// +optional
	LastProbeTime *metav1.Time `json:"lastProbeTime,omitempty"`
	// Identity is the UID of the cluster's kube-system namespace, read at connect: the cluster's
	// identity. A new value means another cluster (rebuilt, or the Secret points elsewhere):
	// nothing remembered about the old one is trusted, and every copy is verified again.
	// +optional
	Identity string `json:"identity,omitempty"`
}

// RemoteCluster is a DR cluster dr-syncer can write to. For platform admins.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=rmc,categories=drsyncer
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Authorized",type=string,JSONPath=`.status.conditions[?(@.type=="Authorized")].status`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.serverVersion`
// +kubebuilder:printcolumn:name="Last-Probe",type=date,JSONPath=`.status.lastProbeTime`
// +kubebuilder:printcolumn:name="Reason",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Identity",type=string,priority=1,JSONPath=`.status.identity`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type RemoteCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RemoteClusterSpec   `json:"spec"`
	Status RemoteClusterStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// RemoteClusterList is a list of RemoteClusters.
type RemoteClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RemoteCluster `json:"items"`
}

func init() {
	objects = append(objects, &RemoteCluster{}, &RemoteClusterList{})
}
