// Package v1alpha1 holds the dr-syncer API: RemoteCluster, ClusterReplication and Replication,
// the well-known labels and annotations, and the condition types and reasons.
//
// +kubebuilder:object:generate=true
// +groupName=drsyncer.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of every dr-syncer kind.
	GroupVersion = schema.GroupVersion{Group: "drsyncer.io", Version: "v1alpha1"}

	// SchemeBuilder registers the dr-syncer kinds with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the dr-syncer kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
