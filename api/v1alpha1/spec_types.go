package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// SyncMode says when a replication writes to its targets.
// +kubebuilder:validation:Enum=Continuous;Scheduled;Manual
type SyncMode string

const (
	// ModeContinuous mirrors every admitted change as it happens, plus the periodic full pass.
	ModeContinuous SyncMode = "Continuous"
	// ModeScheduled runs full passes on a cron schedule only.
	ModeScheduled SyncMode = "Scheduled"
	// ModeManual runs one pass per new value of the drsyncer.io/sync-requested-at annotation.
	ModeManual SyncMode = "Manual"
)

// DriftPolicy says what happens when a DR copy differs from its desired state.
// +kubebuilder:validation:Enum=Correct;Report;Ignore
type DriftPolicy string

const (
	DriftCorrect DriftPolicy = "Correct"
	DriftReport  DriftPolicy = "Report"
	DriftIgnore  DriftPolicy = "Ignore"
)

// DeletionPolicy says whether deleting a source object deletes its DR copy.
// +kubebuilder:validation:Enum=Delete;Retain
type DeletionPolicy string

const (
	DeletionDelete DeletionPolicy = "Delete"
	DeletionRetain DeletionPolicy = "Retain"
)

// ConflictPolicy says what happens when the DR cluster already holds an object dr-syncer did not create.
// +kubebuilder:validation:Enum=Skip;Adopt
type ConflictPolicy string

const (
	ConflictSkip  ConflictPolicy = "Skip"
	ConflictAdopt ConflictPolicy = "Adopt"
)

// DependencyPolicy says whether what mirrored workloads reference follows them past resources.selector.
// +kubebuilder:validation:Enum=Follow;Ignore
type DependencyPolicy string

const (
	DependenciesFollow DependencyPolicy = "Follow"
	DependenciesIgnore DependencyPolicy = "Ignore"
)

// Replica modes of WorkloadSpec.Replicas besides a fixed number.
const (
	ReplicasZero     = "Zero"
	ReplicasPreserve = "Preserve"
)

// ReplicationSpec is the spec shared by ClusterReplication and Replication.
// +kubebuilder:validation:XValidation:rule="self.mode != 'Scheduled' || has(self.schedule)",message="schedule is required when mode is Scheduled",fieldPath=".schedule"
// +kubebuilder:validation:XValidation:rule="!has(self.schedule) || self.mode == 'Scheduled'",message="schedule may only be set when mode is Scheduled",fieldPath=".schedule"
type ReplicationSpec struct {
	// Targets are the DR clusters (RemoteCluster names) and destination namespaces to mirror to.
	// Each cluster may appear once.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=cluster
	Targets []Target `json:"targets"`

	// Resources selects which kinds and objects are mirrored. Empty means the DR-sensible default
	// set: ConfigMap, Secret, Service, ServiceAccount, Deployment, StatefulSet, DaemonSet, CronJob,
	// Ingress, PersistentVolumeClaim, NetworkPolicy, Role, RoleBinding, HorizontalPodAutoscaler,
	// PodDisruptionBudget.
	// +optional
	Resources ResourceSelection `json:"resources,omitempty"`

	// Mode says when changes are written: Continuous (as they happen, the default), Scheduled
	// (on the cron schedule) or Manual (once per new drsyncer.io/sync-requested-at annotation value;
	// a new value also runs a pass in the other modes).
	// +kubebuilder:default=Continuous
	// +optional
	Mode SyncMode `json:"mode,omitempty"`

	// Schedule is a standard 5-field cron expression (minute hour day-of-month month day-of-week),
	// required when mode is Scheduled, e.g. "*/15 * * * *".
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9*/,?LW#A-Za-z-]+( +[0-9*/,?LW#A-Za-z-]+){4}$')",message="schedule must be a 5-field cron expression such as \"*/15 * * * *\""
	// +optional
	Schedule string `json:"schedule,omitempty"`

	// Drift says how DR copies that differ from their source are handled.
	// +optional
	Drift DriftSpec `json:"drift,omitempty"`

	// DeletionPolicy: Delete mirrors source deletions to DR; Retain (the default) lets a DR copy
	// outlive its source.
	// +kubebuilder:default=Retain
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// ConflictPolicy: Skip (the default) never overwrites a DR object that dr-syncer did not
	// create and reports it; Adopt takes it over.
	// +kubebuilder:default=Skip
	// +optional
	ConflictPolicy ConflictPolicy `json:"conflictPolicy,omitempty"`

	// Workloads sets how Deployments, StatefulSets and CronJobs look on DR.
	// +optional
	Workloads WorkloadSpec `json:"workloads,omitempty"`

	// Suspend stops all writes of this replication until it is false again.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// Target is one DR cluster and the namespace objects land in.
type Target struct {
	// Cluster is the name of a RemoteCluster.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Cluster string `json:"cluster"`

	// Namespace is the destination namespace on the DR cluster. Empty means the source namespace's
	// name. It may be a template whose only placeholder is {{.Namespace}}, e.g. "{{.Namespace}}-dr".
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self.matches('^([a-z0-9-]|\\\\{\\\\{ *\\\\.Namespace *\\\\}\\\\})+$')",message="namespace must be a DNS-1123 label or a template whose only placeholder is {{.Namespace}}"
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Transforms are applied to every object mirrored to this target, after the built-in ones.
	// +optional
	Transforms *Transforms `json:"transforms,omitempty"`
}

// GroupKind names a kind; the core group is the empty string.
type GroupKind struct {
	// Group is the API group, "" for the core group (ConfigMap, Secret, ...).
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Group string `json:"group,omitempty"`
	// Kind is the kind, e.g. Deployment.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Z][A-Za-z0-9]*$`
	Kind string `json:"kind"`
}

// ResourceSelection selects the kinds and objects a replication mirrors.
type ResourceSelection struct {
	// Include lists the kinds to mirror. Empty means the default set (see ReplicationSpec.resources).
	// Custom resources are named by group and kind.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Include []GroupKind `json:"include,omitempty"`
	// Exclude lists kinds never to mirror, applied after include.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Exclude []GroupKind `json:"exclude,omitempty"`
	// Selector restricts mirroring to objects whose labels match.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	// IncludeHelmReleases mirrors Helm release Secrets (type helm.sh/release.v1), which are
	// skipped by default.
	// +optional
	IncludeHelmReleases bool `json:"includeHelmReleases,omitempty"`
	// Dependencies: with a selector, Follow (the default) also mirrors what the mirrored workloads
	// and RoleBindings reference in their namespace (ConfigMaps, Secrets, ServiceAccounts, claims,
	// Roles) whether or not it matches the selector, when its kind is in scope; an object excluded
	// with drsyncer.io/exclude, or of a kind never mirrored, is never followed. Ignore mirrors only
	// what the selector matches.
	// +kubebuilder:default=Follow
	// +optional
	Dependencies DependencyPolicy `json:"dependencies,omitempty"`
}

// DriftSpec configures drift handling and the periodic full pass.
type DriftSpec struct {
	// Policy: Correct (the default) re-applies the desired state, Report only records drift,
	// Ignore does neither.
	// +kubebuilder:default=Correct
	// +optional
	Policy DriftPolicy `json:"policy,omitempty"`
	// Interval of the periodic full pass that re-pairs source and DR objects, e.g. "5m"
	// (the default). Between 10s and 24h.
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10s') && duration(self) <= duration('24h')",message="interval must be between 10s and 24h"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`
	// AllowedFieldManagers may own fields of a DR copy without that being drift, for example an
	// autoscaler on DR. Under Correct a copy converges to exactly its desired state plus what the
	// DR cluster sets itself (defaults, status, allocated IPs, its controllers): fields any other
	// field manager sets on DR (kubectl edit, patch or apply, other controllers) are drift and
	// are removed. Default: none.
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	// +listType=set
	// +optional
	AllowedFieldManagers []string `json:"allowedFieldManagers,omitempty"`
}

// WorkloadSpec sets how workloads look on DR.
type WorkloadSpec struct {
	// Replicas on DR: "Zero" (the default, a warm standby; the source count is kept in the
	// drsyncer.io/source-replicas annotation), "Preserve", or a fixed number.
	// +kubebuilder:default="Zero"
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? (self >= 0 && self <= 100000) : (self == 'Zero' || self == 'Preserve')",message="replicas must be \"Zero\", \"Preserve\" or a number from 0 to 100000"
	// +optional
	Replicas *intstr.IntOrString `json:"replicas,omitempty"`
	// SuspendCronJobs suspends CronJobs on DR (default true).
	// +kubebuilder:default=true
	// +optional
	SuspendCronJobs *bool `json:"suspendCronJobs,omitempty"`
}

// Transforms are per-target changes applied to each DR copy.
type Transforms struct {
	// Patches are RFC 6902 JSON patch operations, optionally limited to one kind.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Patches []JSONPatch `json:"patches,omitempty"`
	// ImageRegistries rewrite container image prefixes, e.g. from "registry.example.com" to
	// "dr-registry.example.com".
	// +kubebuilder:validation:MaxItems=32
	// +optional
	ImageRegistries []RegistryRewrite `json:"imageRegistries,omitempty"`
	// StorageClasses maps source StorageClass names to DR ones for PersistentVolumeClaims and
	// StatefulSet volume claim templates.
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	StorageClasses map[string]string `json:"storageClasses,omitempty"`
	// AddLabels are set on every DR copy.
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	AddLabels map[string]string `json:"addLabels,omitempty"`
	// RemoveLabels are removed from every DR copy.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	RemoveLabels []string `json:"removeLabels,omitempty"`
	// AddAnnotations are set on every DR copy.
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	AddAnnotations map[string]string `json:"addAnnotations,omitempty"`
	// RemoveAnnotations are removed from every DR copy.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	RemoveAnnotations []string `json:"removeAnnotations,omitempty"`
	// PreserveNodePorts keeps Service nodePorts on DR (they are stripped by default, since the
	// same port may be taken there).
	// +optional
	PreserveNodePorts bool `json:"preserveNodePorts,omitempty"`
	// KeepTrackingMetadata keeps the labels and annotations Argo CD, Flux and Helm track objects by
	// (argocd.argoproj.io/instance and tracking-id, kustomize.toolkit.fluxcd.io/name and namespace,
	// helm.toolkit.fluxcd.io/name and namespace, meta.helm.sh/release-name and release-namespace).
	// Copies drop them by default, so that the same tools on the DR cluster do not adopt, prune or
	// report the copies; removeLabels drops others (such as app.kubernetes.io/instance).
	// +optional
	KeepTrackingMetadata bool `json:"keepTrackingMetadata,omitempty"`
	// DropUnknownFields accepts a copy that the DR cluster keeps without some of its fields (an
	// older DR cluster drops the fields it does not know or whose feature is off there), and lists
	// each dropped field in status.targets[].problems with reason FieldDropped. By default such a
	// copy fails, naming the fields and the DR cluster's version.
	// +optional
	DropUnknownFields bool `json:"dropUnknownFields,omitempty"`
}

// JSONPatch is one RFC 6902 operation. The webhook requires value unless op is remove (CEL cannot
// see into a schemaless value).
type JSONPatch struct {
	// Kind limits the patch to objects of this kind ("Deployment"); empty means every object.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Kind string `json:"kind,omitempty"`
	// Op is add, replace or remove.
	// +kubebuilder:validation:Enum=add;replace;remove
	Op string `json:"op"`
	// Path is a JSON pointer, e.g. /spec/template/spec/containers/0/env/-.
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^/`
	Path string `json:"path"`
	// Value is the value for add and replace.
	// +optional
	Value *apiextensionsv1.JSON `json:"value,omitempty"`
}

// RegistryRewrite replaces an image prefix.
type RegistryRewrite struct {
	// From is the source prefix, e.g. "registry.example.com".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	From string `json:"from"`
	// To is the DR prefix.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	To string `json:"to"`
}

// ReplicationStatus is the observed state shared by ClusterReplication and Replication.
type ReplicationStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, Reconciling, Stalled (kstatus), Synced and Drifted.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// LastSyncTime is when the last pass over every target succeeded.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// LastScheduledTime is when the last pass of a Scheduled replication ran, whether or not it
	// succeeded: the next one waits for the schedule from there (a failed pass is retried with
	// backoff, never at every change).
	// +optional
	LastScheduledTime *metav1.Time `json:"lastScheduledTime,omitempty"`
	// LastHandledSyncRequest is the drsyncer.io/sync-requested-at value the last pass handled. A new
	// value requests one pass in any mode (`kubectl drsyncer sync` waits for it here).
	// +optional
	LastHandledSyncRequest string `json:"lastHandledSyncRequest,omitempty"`
	// LastHandledDeleteApproval is the drsyncer.io/approve-deletes value the last pass handled. A
	// new value lets one pass delete every copy the mass-delete breaker holds back
	// (`kubectl drsyncer approve-deletes`).
	// +optional
	LastHandledDeleteApproval string `json:"lastHandledDeleteApproval,omitempty"`
	// Targets is the state per target.
	// +listType=map
	// +listMapKey=cluster
	// +optional
	Targets []TargetStatus `json:"targets,omitempty"`
}

// TargetStatus is the state of one target.
type TargetStatus struct {
	// Cluster is the RemoteCluster name.
	Cluster string `json:"cluster"`
	// Namespaces are the DR namespaces written to.
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`
	// LastSyncTime is when the last pass to this target succeeded.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// NextSyncTime is when the next scheduled pass runs (Scheduled mode).
	// +optional
	NextSyncTime *metav1.Time `json:"nextSyncTime,omitempty"`
	// Synced counts objects whose DR copy exists on the DR cluster at the desired state, as this
	// pass wrote or found it; a copy that is missing, or written but not yet seen there, is not.
	Synced int32 `json:"synced"`
	// Failed counts objects that could not be written.
	Failed int32 `json:"failed"`
	// Drifted counts DR copies found different from the desired state.
	Drifted int32 `json:"drifted"`
	// Conflicts counts DR objects dr-syncer did not create and did not overwrite.
	Conflicts int32 `json:"conflicts"`
	// Retained counts copies kept on DR whose source object is gone: deletionPolicy Retain, the
	// mass-delete breaker, or a source namespace being deleted.
	// +optional
	Retained int32 `json:"retained,omitempty"`
	// Promoted counts the copies promoted on this cluster (failover, `kubectl drsyncer promote`):
	// dr-syncer leaves them alone until they are demoted.
	// +optional
	Promoted int32 `json:"promoted,omitempty"`
	// RecentDeletions counts the copies deleted on this target (pruned or replaced) per minute
	// within the mass-delete window, so that neither a slow drain nor a restart of the controller
	// escapes the breaker.
	// +kubebuilder:validation:MaxItems=1440
	// +listType=atomic
	// +optional
	RecentDeletions []DeletionCount `json:"recentDeletions,omitempty"`
	// Dependencies counts the copies mirrored because a mirrored workload needs them, past
	// resources.selector (resources.dependencies Follow).
	// +optional
	Dependencies int32 `json:"dependencies,omitempty"`
	// Problems lists up to 20 objects that fail, conflict or drift, with a one-line reason.
	// +kubebuilder:validation:MaxItems=20
	// +optional
	Problems []ObjectProblem `json:"problems,omitempty"`
	// FailoverReady says whether every copy on this target has on the DR cluster what it needs to
	// run (ConfigMaps, Secrets, ServiceAccounts, claims, StorageClasses, PriorityClasses, ...);
	// unset when the last pass could not check.
	// +optional
	FailoverReady *bool `json:"failoverReady,omitempty"`
	// FailoverBlockers lists up to 20 objects the copies need that the DR cluster lacks: reason
	// Missing, and the copy that needs each. Cluster-scoped ones are the platform admin's to
	// provide; dr-syncer reports them and never mirrors them.
	// +kubebuilder:validation:MaxItems=20
	// +optional
	FailoverBlockers []ObjectProblem `json:"failoverBlockers,omitempty"`
}

// DeletionCount is how many copies a target deleted in one minute.
type DeletionCount struct {
	// Minute is the start of the minute.
	Minute metav1.Time `json:"minute"`
	// Count is the number of copies deleted in it.
	Count int32 `json:"count"`
}

// ObjectProblem is one object that fails, conflicts or drifts.
type ObjectProblem struct {
	// Kind of the object.
	Kind string `json:"kind"`
	// Namespace of the source object.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Name of the object.
	Name string `json:"name"`
	// Reason is Failed, Conflict, Drifted, Missing (deleted on DR and not recreated under drift
	// policy Ignore), or SourceNamespaceDeleted (the source namespace is being deleted; its copies
	// are kept).
	Reason string `json:"reason"`
	// Message says what happened, in one line.
	// +optional
	Message string `json:"message,omitempty"`
}
