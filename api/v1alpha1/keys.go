package v1alpha1

// Well-known labels and annotations (DESIGN §2). Declared once here and nowhere else.
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
)

// Condition types (kstatus plus dr-syncer's own).
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
	ConditionSynced      = "Synced"
	ConditionDrifted     = "Drifted"
	// ConditionAuthorized (RemoteCluster): the DR identity may do what mirroring the default kinds needs.
	ConditionAuthorized = "Authorized"
)

// Condition reasons.
const (
	ReasonSucceeded         = "Succeeded"
	ReasonProgressing       = "Progressing"
	ReasonSuspended         = "Suspended"
	ReasonPartialFailure    = "PartialFailure"
	ReasonTargetUnavailable = "TargetUnavailable"
	ReasonDriftDetected     = "DriftDetected"
	ReasonNoDrift           = "NoDrift"
	ReasonMassDeleteBlocked = "MassDeleteBlocked"
	ReasonInvalidSpec       = "InvalidSpec"
	ReasonSecretNotFound    = "SecretNotFound"
	ReasonInvalidKubeconfig = "InvalidKubeconfig"
	ReasonKubeconfigRefused = "KubeconfigRefused"
	ReasonUnreachable       = "Unreachable"
	ReasonConnected         = "Connected"
	ReasonPromoted          = "Promoted"
	// ReasonSourceNamespaceDeleted: a source namespace is Terminating; its copies are kept.
	ReasonSourceNamespaceDeleted = "SourceNamespaceDeleted"
	// ReasonSourceCluster: a RemoteCluster reaches the source cluster itself; nothing is written.
	ReasonSourceCluster = "SourceCluster"
	// ReasonCopiesMissing: desired copies are missing on a target and the drift policy does not
	// recreate them until their source changes.
	ReasonCopiesMissing = "CopiesMissing"
	// ReasonAuthorized and ReasonMissingPermissions: the Authorized condition of a RemoteCluster.
	ReasonAuthorized         = "Authorized"
	ReasonMissingPermissions = "MissingPermissions"
)
