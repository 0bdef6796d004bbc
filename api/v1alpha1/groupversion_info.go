// Package v1alpha1 holds the dr-syncer API: RemoteCluster, ClusterReplication and Replication,
// the well-known labels and annotations, and the condition types and reasons.
//
// +kubebuilder:object:generate=true
// +groupName=drsyncer.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of every dr-syncer kind.
var GroupVersion = schema.GroupVersion{Group: "drsyncer.io", Version: "v1alpha1"}

// objects are the kinds registered by AddToScheme; each types file appends its own.
var objects []runtime.Object

var (
	// SchemeBuilder registers the dr-syncer kinds with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(func(s *runtime.Scheme) error {
		s.AddKnownTypes(GroupVersion, objects...)
		metav1.AddToGroupVersion(s, GroupVersion)
		return nil
	})
	// AddToScheme adds the dr-syncer kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
