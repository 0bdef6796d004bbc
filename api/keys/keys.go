// Package keys declares dr-syncer's well-known labels and annotations, once: the API types, the
// transforms, the engine, the webhooks and the kubectl plugin all read them from here. A leaf:
// it imports nothing.
package keys

// The well-known labels and annotations (DESIGN §2).
const (
	// AnnotationReplicate on a Namespace names the ClusterReplication the namespace opts in to.
	AnnotationReplicate = "drsyncer.io/replicate"
	// LabelReplication marks a Namespace and every resource in it for replication; its value is the
	// replication's name. Set by the mutating webhook and backfilled by the controller.
	LabelReplication = "drsyncer.io/replication"
	// KeyExclude, as a label or an annotation with value "true", opts one object out.
	KeyExclude = "drsyncer.io/exclude"
	// LabelManagedBy with value ManagedByValue marks the DR copies dr-syncer owns.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy on DR copies.
	ManagedByValue = "dr-syncer"
	// AnnotationSource on a DR copy is "cluster/namespace/name" of its source object.
	AnnotationSource = "drsyncer.io/source"
	// AnnotationOwner on a DR copy names the one replication that writes and prunes it:
	// "ClusterReplication/<name>" or "Replication/<namespace>/<name>". Another replication that
	// would write the same DR object reports a Conflict and leaves it alone.
	AnnotationOwner = "drsyncer.io/owner"
	// AnnotationSourceUID on a DR copy is the UID of its source object.
	AnnotationSourceUID = "drsyncer.io/source-uid"
	// AnnotationSpecHash on a DR copy is the hash of the desired state last applied.
	AnnotationSpecHash = "drsyncer.io/spec-hash"
	// AnnotationSourceReplicas on a DR workload keeps the source's replica count.
	AnnotationSourceReplicas = "drsyncer.io/source-replicas"
	// AnnotationOwnership on a DR copy says it was created with a plain create (cheaper than a
	// server-side apply) and its field ownership is migrated on its first update; then it goes.
	AnnotationOwnership = "drsyncer.io/ownership"
	// AnnotationSyncRequestedAt on a replication requests one pass, in any mode; any new value
	// runs exactly one pass, recorded in status.lastHandledSyncRequest.
	AnnotationSyncRequestedAt = "drsyncer.io/sync-requested-at"
	// AnnotationApproveDeletes on a replication approves, once per new value, the deletes the
	// mass-delete breaker holds back; the handled value is in status.lastHandledDeleteApproval.
	AnnotationApproveDeletes = "drsyncer.io/approve-deletes"
	// AnnotationSourceSuspend on a DR CronJob keeps the source's spec.suspend ("true"/"false"),
	// which promotion restores.
	AnnotationSourceSuspend = "drsyncer.io/source-suspend"
	// AnnotationPromoted on a DR copy says it was promoted (failover) at this RFC 3339 time: the
	// controller neither overwrites nor prunes it until it is demoted.
	AnnotationPromoted = "drsyncer.io/promoted"
	// AnnotationStandbyState on a promoted DR copy records, as JSON, the standby values promotion
	// replaced (replicas, suspend, the standby node selector); demote restores them.
	AnnotationStandbyState = "drsyncer.io/standby-state"
	// AnnotationFenced on a replication says `kubectl drsyncer promote` suspended it (at this
	// RFC 3339 time); demote resumes it.
	AnnotationFenced = "drsyncer.io/fenced"
	// AnnotationFencedState on a source workload records, as JSON, the values `promote
	// --fence-source` replaced to stop it; demote restores them.
	AnnotationFencedState = "drsyncer.io/fenced-state"
	// AnnotationSourceFields on a DR copy of a kind an operator acts on (KEDA, Flux, Crossplane,
	// Argo CD) records, as JSON, the source's values of the fields its standby form changed;
	// promote restores them.
	AnnotationSourceFields = "drsyncer.io/source-fields"
	// NodeSelectorStandby keeps a DaemonSet's pods off every node while its copy is a standby.
	NodeSelectorStandby = "drsyncer.io/standby"
)
