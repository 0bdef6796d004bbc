// Package transform turns a source object into the desired DR copy: runtime fields stripped,
// namespace mapped, workloads made safe for a warm standby, per-target overrides applied, and
// provenance recorded. Pure functions over unstructured objects; no API types, no I/O.
package transform

import "encoding/json"

// ReplicasMode says what spec.replicas of a workload becomes on DR.
type ReplicasMode string

const (
	// ReplicasZero scales workloads to zero and keeps the source count in an annotation.
	ReplicasZero ReplicasMode = "Zero"
	// ReplicasPreserve keeps the source count.
	ReplicasPreserve ReplicasMode = "Preserve"
	// ReplicasFixed sets Options.FixedReplicas.
	ReplicasFixed ReplicasMode = "Fixed"
)

// Options are everything a transform needs to know about one target.
type Options struct {
	// SourceCluster names the source cluster in the drsyncer.io/source annotation.
	SourceCluster string
	// Replication is the name of the replication, recorded in the replication label.
	Replication string
	// Owner names the replication in the owner annotation ("ClusterReplication/prod",
	// "Replication/shop/app"): no other replication writes or prunes the copy.
	Owner string
	// TargetNamespace is the DR namespace of the copy.
	TargetNamespace string

	// Replicas is what workloads' replicas become on DR. ReplicasZero (a standby) also puts the
	// kinds operators act on (KEDA, Flux, Crossplane, Argo CD) in their standby form.
	Replicas          ReplicasMode
	FixedReplicas     int32
	SuspendCronJobs   bool
	PreserveNodePorts bool
	// KeepTrackingMetadata keeps the labels and annotations GitOps tools and Helm track objects by
	// (trackingKeys), which copies drop by default so that the same tools on DR leave them alone.
	KeepTrackingMetadata bool

	ImageRegistries   []RegistryRewrite
	StorageClasses    map[string]string
	AddLabels         map[string]string
	RemoveLabels      []string
	AddAnnotations    map[string]string
	RemoveAnnotations []string
	Patches           []Patch
}

// RegistryRewrite replaces the image prefix From with To.
type RegistryRewrite struct{ From, To string }

// Patch is one RFC 6902 operation, limited to objects of Kind when Kind is set.
type Patch struct {
	Kind  string
	Op    string
	Path  string
	Value json.RawMessage
}
