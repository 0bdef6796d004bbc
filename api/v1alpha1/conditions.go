package v1alpha1

// Condition types (kstatus plus dr-syncer's own).
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
	ConditionSynced      = "Synced"
	ConditionDrifted     = "Drifted"
	// ConditionAuthorized (RemoteCluster): the DR identity may do what mirroring the default kinds needs.
	ConditionAuthorized = "Authorized"
	// ConditionVersionSkew (RemoteCluster): the cluster's Kubernetes version is outside the
	// supported window (a warning: mirroring goes on).
	ConditionVersionSkew = "VersionSkew"
	// ConditionFailoverReady (replications): every copy has on its DR cluster what it needs to run.
	ConditionFailoverReady = "FailoverReady"
)

// Condition reasons.
const (
	ReasonSucceeded = "Succeeded"
	// ReasonMissingDependencies: a copy needs an object its DR cluster lacks (FailoverReady).
	ReasonMissingDependencies = "MissingDependencies"
	// ReasonOutsideSupportedVersions and ReasonSupportedVersion: VersionSkew True and False.
	ReasonOutsideSupportedVersions = "OutsideSupportedVersions"
	ReasonSupportedVersion         = "SupportedVersion"
	// ReasonNotChecked: a target could not be checked (FailoverReady Unknown).
	ReasonNotChecked        = "NotChecked"
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
