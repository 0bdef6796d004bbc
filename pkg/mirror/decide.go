// Package mirror is the engine, over a client: a Pass over one target plans from metadata what each
// DR copy needs (Plan, Decide: pure), reads content only for what it writes, writes with bounded
// concurrency (a plain create, or server-side apply as field manager "dr-syncer"), replaces what
// only a re-creation can change, prunes orphans behind a mass-delete breaker (PlanPrune, Budget),
// and returns a ChangeSet. It knows nothing of dr-syncer's API types.
package mirror

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/drsyncer/dr-syncer/api/keys"
)

// Action is what happened, or is to happen, to one DR object.
type Action string

const (
	ActionCreate      Action = "Create"      // absent on DR: created
	ActionUpdate      Action = "Update"      // the source changed: re-applied
	ActionCorrect     Action = "Correct"     // drifted on DR: re-applied
	ActionReportDrift Action = "ReportDrift" // drifted on DR: reported only
	ActionUnchanged   Action = "Unchanged"   // equal: no write
	ActionConflict    Action = "Conflict"    // an object dr-syncer does not own: left alone
	ActionAdopt       Action = "Adopt"       // an object dr-syncer does not own: taken over
	ActionDelete      Action = "Delete"      // orphan deleted
	ActionRetain      Action = "Retain"      // orphan kept (deletionPolicy Retain or the breaker)
	ActionFailed      Action = "Failed"      // the write failed
	ActionPromoted    Action = "Promoted"    // promoted on DR (failover): left alone until demoted
	ActionReplace     Action = "Replaced"    // an immutable field changed: deleted and created again
	ActionMissing     Action = "Missing"     // deleted on DR and not recreated (drift policy Report or Ignore)
	ActionPending     Action = "Pending"     // written, not yet seen in the DR cache: verified next pass
)

// Writes reports whether the action writes to the DR cluster.
func (a Action) Writes() bool {
	switch a {
	case ActionCreate, ActionUpdate, ActionCorrect, ActionAdopt, ActionReplace:
		return true
	}
	return false
}

// Present reports whether the DR object is there after the action (dr-syncer's copy or not).
func (a Action) Present() bool {
	switch a {
	case ActionCreate, ActionUpdate, ActionCorrect, ActionReportDrift, ActionUnchanged, ActionConflict, ActionAdopt,
		ActionRetain, ActionPromoted, ActionReplace, ActionPending:
		return true
	}
	return false
}

// DriftPolicy says what happens to a DR copy that differs from its desired state.
type DriftPolicy string

const (
	DriftCorrect DriftPolicy = "Correct"
	DriftReport  DriftPolicy = "Report"
	DriftIgnore  DriftPolicy = "Ignore"
)

// Policy is what Decide needs from a replication's spec.
type Policy struct {
	Drift DriftPolicy
	// Adopt takes over DR objects dr-syncer did not create (conflictPolicy Adopt).
	Adopt bool
	// LiveIsComplete says an absent live object is truly absent (dr-syncer created the namespace
	// and sees all of it), so a create needs no look-up first.
	LiveIsComplete bool
	// AllowedManagers may own fields of a copy on DR without that being drift.
	AllowedManagers []string
}

// Plan decides from the live object's metadata alone when it can (DR caches hold metadata only);
// needsContent says the full live object must be read and compared with Decide.
func Plan(desired *unstructured.Unstructured, live metav1.Object, p Policy) (a Action, needsContent bool) {
	switch {
	case live == nil:
		return ActionCreate, false
	case IsPromoted(live):
		return ActionPromoted, false
	case OwnedByAnother(live, desired):
		// Another replication's copy: never written, whatever the conflict policy.
		return ActionConflict, false
	case !Owns(live, desired):
		if p.Adopt {
			return ActionAdopt, false
		}
		return ActionConflict, false
	case live.GetAnnotations()[keys.AnnotationSpecHash] != desired.GetAnnotations()[keys.AnnotationSpecHash]:
		return ActionUpdate, false
	}
	return "", true
}

// HasForeignFields reports whether another field manager than dr-syncer owns fields of live that
// are drift (see ForeignManagers).
func HasForeignFields(live metav1.Object, p Policy) bool {
	return len(ForeignManagers(live.GetManagedFields(), p.AllowedManagers)) > 0
}

// Decide says what the DR copy needs: desired is the transformed source object (with its spec
// hash), live the DR object or nil.
func Decide(desired, live *unstructured.Unstructured, p Policy) Action {
	if live == nil {
		return ActionCreate
	}
	if a, needsContent := Plan(desired, live, p); !needsContent {
		return a
	}
	if Matches(desired.Object, live.Object) && !HasForeignFields(live, p) {
		return ActionUnchanged
	}
	switch p.Drift {
	case DriftReport:
		return ActionReportDrift
	case DriftIgnore:
		return ActionUnchanged
	}
	return ActionCorrect
}

// IsPromoted reports whether a DR object was promoted (failover): it serves now, so dr-syncer
// neither overwrites nor prunes it until it is demoted.
func IsPromoted(live metav1.Object) bool {
	return live.GetAnnotations()[keys.AnnotationPromoted] != ""
}

// Owns reports whether live is dr-syncer's copy of the same source object as desired, written by
// the same replication (a copy written before owners were recorded has none: it is taken over).
func Owns(live metav1.Object, desired *unstructured.Unstructured) bool {
	return live.GetLabels()[keys.LabelManagedBy] == keys.ManagedByValue &&
		live.GetAnnotations()[keys.AnnotationSource] == desired.GetAnnotations()[keys.AnnotationSource] &&
		!OwnedByAnother(live, desired)
}

// OwnedByAnother reports whether live is a dr-syncer copy that another replication owns: one
// replication owns each DR object, and no other writes or prunes it.
func OwnedByAnother(live metav1.Object, desired *unstructured.Unstructured) bool {
	return IsOwnedByOther(live, desired.GetAnnotations()[keys.AnnotationOwner])
}

// IsOwnedByOther reports whether live is a dr-syncer copy whose recorded owner is not owner.
func IsOwnedByOther(live metav1.Object, owner string) bool {
	theirs := live.GetAnnotations()[keys.AnnotationOwner]
	return live.GetLabels()[keys.LabelManagedBy] == keys.ManagedByValue && theirs != "" && owner != "" && theirs != owner
}
