package replication

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/mirror"
	"github.com/drsyncer/dr-syncer/pkg/schedule"
)

// maxProblems bounds the per-target problem list in status.
const maxProblems = 20

func setCondition(st *v1alpha1.ReplicationStatus, generation int64, typ string, status bool, reason, format string, args ...any) {
	c := metav1.ConditionFalse
	if status {
		c = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: typ, Status: c, Reason: reason,
		Message: fmt.Sprintf(format, args...), ObservedGeneration: generation})
}

func condition(s *subject, typ string, status bool, reason, format string, args ...any) {
	setCondition(s.status, s.obj.GetGeneration(), typ, status, reason, format, args...)
}

func setSuspended(s *subject) {
	condition(s, v1alpha1.ConditionReady, false, v1alpha1.ReasonSuspended, "spec.suspend is true: nothing is written")
	condition(s, v1alpha1.ConditionReconciling, false, v1alpha1.ReasonSuspended, "suspended")
	condition(s, v1alpha1.ConditionStalled, false, v1alpha1.ReasonSuspended, "suspended")
}

func setInvalid(s *subject, format string, args ...any) {
	condition(s, v1alpha1.ConditionReady, false, v1alpha1.ReasonInvalidSpec, format, args...)
	condition(s, v1alpha1.ConditionStalled, true, v1alpha1.ReasonInvalidSpec, format, args...)
	condition(s, v1alpha1.ConditionReconciling, false, v1alpha1.ReasonInvalidSpec, "not reconciled")
}

func setWaiting(s *subject, t schedule.Timing) {
	for i := range s.status.Targets {
		if !t.Next.IsZero() {
			next := metav1.NewTime(t.Next)
			s.status.Targets[i].NextSyncTime = &next
		}
	}
	if meta.FindStatusCondition(s.status.Conditions, v1alpha1.ConditionReady) == nil {
		condition(s, v1alpha1.ConditionReady, false, v1alpha1.ReasonProgressing, "%s", t.Reason)
	}
	condition(s, v1alpha1.ConditionReconciling, false, v1alpha1.ReasonSucceeded, "%s", t.Reason)
}

// pass is what a finished pass hands to passStatus.
type pass struct {
	spec        *v1alpha1.ReplicationSpec
	generation  int64
	annotations map[string]string
	results     []targetResult
	// gatherProblems failed on the source: every target reports them.
	gatherProblems []problem
	// next is when the next scheduled pass is due (zero: none).
	next time.Time
	now  time.Time
}

// passSummary is what status says across the targets.
type passSummary struct {
	unavailable, failing, stalled, promoted, missing []string
	drifted                                          int
	// unchecked are the targets whose readiness was not checked; blocked names the first blockers.
	unchecked, blocked []string
}

// passStatus is the status a pass leaves: prev with the targets, conditions and handled
// annotations of this pass. It reports whether any target failed.
func passStatus(prev v1alpha1.ReplicationStatus, p pass) (v1alpha1.ReplicationStatus, bool) {
	st := *prev.DeepCopy()
	var sum passSummary
	st.Targets = nil
	for _, res := range p.results {
		st.Targets = append(st.Targets, targetStatus(prev.Target(res.cluster), res, p, &sum))
	}
	st.LastHandledSyncRequest = p.annotations[keys.AnnotationSyncRequestedAt]
	st.LastHandledDeleteApproval = p.annotations[keys.AnnotationApproveDeletes]
	setPassConditions(&st, p, sum)
	return st, len(sum.unavailable)+len(sum.failing) > 0
}

// targetStatus is one target's status after a pass; prev is the last pass's (nil: none).
func targetStatus(prev *v1alpha1.TargetStatus, res targetResult, p pass, sum *passSummary) v1alpha1.TargetStatus {
	ts := v1alpha1.TargetStatus{Cluster: res.cluster, Namespaces: res.namespaces}
	if prev != nil {
		ts.LastSyncTime = prev.LastSyncTime
	}
	if !p.next.IsZero() && p.spec.Mode == v1alpha1.ModeScheduled {
		next := metav1.NewTime(p.next)
		ts.NextSyncTime = &next
	}
	// Only what this pass wrote or found equal on DR; a copy that is missing, pending in the DR
	// cache or kept without a source is not synced.
	ts.Synced = int32(res.counts[mirror.ActionCreate] + res.counts[mirror.ActionUpdate] + res.counts[mirror.ActionCorrect] +
		res.counts[mirror.ActionAdopt] + res.counts[mirror.ActionUnchanged] + res.counts[mirror.ActionReplace])
	ts.Failed = int32(res.counts[mirror.ActionFailed])
	ts.Drifted, ts.Promoted = int32(res.drifted), int32(res.promoted)
	ts.Conflicts, ts.Retained = int32(res.counts[mirror.ActionConflict]), int32(res.counts[mirror.ActionRetain])
	ts.RecentDeletions = recentDeletions(prev, res)
	ts.Dependencies = int32(res.dependencies)
	ts.FailoverReady, ts.FailoverBlockers = failoverStatus(res)
	summarize(res, sum)
	problems := append(append([]problem{}, p.gatherProblems...), res.problems...)
	switch {
	case res.unavailable != "":
		problems = append([]problem{{kind: "RemoteCluster", name: res.cluster, reason: "Unavailable", message: res.unavailable}}, problems...)
		sum.unavailable = append(sum.unavailable, res.cluster+": "+res.unavailable)
	case ts.Failed > 0 || len(p.gatherProblems) > 0:
		sum.failing = append(sum.failing, fmt.Sprintf("%s: %d failed", res.cluster, ts.Failed+int32(len(p.gatherProblems))))
	default:
		now := metav1.NewTime(p.now)
		ts.LastSyncTime = &now
	}
	for _, pr := range problems[:min(len(problems), maxProblems)] {
		ts.Problems = append(ts.Problems, v1alpha1.ObjectProblem{Kind: pr.kind, Namespace: pr.namespace, Name: pr.name, Reason: pr.reason, Message: pr.message})
	}
	return ts
}

// failoverStatus is a target's failover readiness: nil when it was not checked.
func failoverStatus(res targetResult) (*bool, []v1alpha1.ObjectProblem) {
	if !res.checked {
		return nil, nil
	}
	ready := len(res.blockers) == 0
	var out []v1alpha1.ObjectProblem
	for _, b := range res.blockers[:min(len(res.blockers), maxProblems)] {
		name := b.Missing.Name
		if b.Missing.Kind == "CustomResourceDefinition" {
			name += "." + b.Missing.Group
		}
		out = append(out, v1alpha1.ObjectProblem{Kind: b.Missing.Kind, Namespace: b.Missing.Namespace, Name: name, Reason: "Missing",
			Message: fmt.Sprintf("needed by %s; not on cluster %s", b.NeededBy, res.cluster)})
	}
	return &ready, out
}

// recentDeletions is the delete log of a target in status; an unavailable target deleted nothing
// and keeps what was known.
func recentDeletions(prev *v1alpha1.TargetStatus, res targetResult) []v1alpha1.DeletionCount {
	if res.unavailable != "" && res.deletions == nil {
		if prev != nil {
			return prev.RecentDeletions
		}
		return nil
	}
	var out []v1alpha1.DeletionCount
	for _, m := range res.deletions.Minutes() {
		out = append(out, v1alpha1.DeletionCount{Minute: metav1.NewTime(m), Count: int32(res.deletions[m])})
	}
	return out
}

func summarize(res targetResult, sum *passSummary) {
	if res.missing > 0 {
		sum.missing = append(sum.missing, fmt.Sprintf("%d on %s", res.missing, res.cluster))
	}
	if res.promoted > 0 {
		sum.promoted = append(sum.promoted, fmt.Sprintf("%d on %s", res.promoted, res.cluster))
	}
	if res.stalled != "" {
		sum.stalled = append(sum.stalled, res.stalled)
	}
	if !res.checked {
		sum.unchecked = append(sum.unchecked, res.cluster)
	}
	for _, b := range res.blockers {
		sum.blocked = append(sum.blocked, fmt.Sprintf("%s on %s (needed by %s)", b.Missing, res.cluster, b.NeededBy))
	}
	sum.drifted += res.drifted
}

// setPassConditions sets Ready, Synced, Drifted, Reconciling and Stalled after a pass.
func setPassConditions(st *v1alpha1.ReplicationStatus, p pass, sum passSummary) {
	set := func(typ string, status bool, reason, format string, args ...any) {
		setCondition(st, p.generation, typ, status, reason, format, args...)
	}
	failed := len(sum.unavailable)+len(sum.failing) > 0
	switch {
	case len(sum.unavailable) > 0:
		set(v1alpha1.ConditionReady, false, v1alpha1.ReasonTargetUnavailable, "%s", strings.Join(sum.unavailable, "; "))
	case len(sum.failing) > 0:
		set(v1alpha1.ConditionReady, false, v1alpha1.ReasonPartialFailure, "some objects failed (%s); see status.targets[].problems", strings.Join(sum.failing, ", "))
	case len(sum.missing) > 0:
		set(v1alpha1.ConditionReady, false, v1alpha1.ReasonCopiesMissing, "DR copies are missing (%s) and drift policy %s does not recreate them until their source changes; see status.targets[].problems",
			strings.Join(sum.missing, ", "), p.spec.Drift.Policy)
	case len(sum.promoted) > 0:
		set(v1alpha1.ConditionReady, false, v1alpha1.ReasonPromoted, "DR copies are promoted (%s) and left alone until `kubectl drsyncer demote`", strings.Join(sum.promoted, ", "))
	default:
		set(v1alpha1.ConditionReady, true, v1alpha1.ReasonSucceeded, "every object is mirrored to every target")
		now := metav1.NewTime(p.now)
		st.LastSyncTime = &now
	}
	set(v1alpha1.ConditionSynced, !failed, map[bool]string{true: v1alpha1.ReasonSucceeded, false: v1alpha1.ReasonPartialFailure}[!failed],
		"last pass: %d target(s), %d problem(s)", len(p.results), len(sum.unavailable)+len(sum.failing))
	if sum.drifted > 0 {
		verb := "corrected"
		if p.spec.Drift.Policy == v1alpha1.DriftReport {
			verb = "reported"
		}
		set(v1alpha1.ConditionDrifted, true, v1alpha1.ReasonDriftDetected, "%d DR cop%s changed or deleted on the DR side; %s", sum.drifted, plural(sum.drifted), verb)
	} else {
		set(v1alpha1.ConditionDrifted, false, v1alpha1.ReasonNoDrift, "every DR copy matches its desired state")
	}
	setFailoverReady(st, p.generation, sum)
	set(v1alpha1.ConditionReconciling, false, v1alpha1.ReasonSucceeded, "pass finished")
	if len(sum.stalled) > 0 {
		set(v1alpha1.ConditionStalled, true, v1alpha1.ReasonMassDeleteBlocked, "%s", strings.Join(sum.stalled, "; "))
	} else {
		set(v1alpha1.ConditionStalled, false, v1alpha1.ReasonSucceeded, "not stalled")
	}
}

// setFailoverReady says whether every copy can run at failover: False names the first missing
// objects, Unknown the targets that could not be checked.
func setFailoverReady(st *v1alpha1.ReplicationStatus, generation int64, sum passSummary) {
	c := metav1.Condition{Type: v1alpha1.ConditionFailoverReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonSucceeded,
		Message: "every DR copy has on its cluster what it needs to run", ObservedGeneration: generation}
	switch {
	case len(sum.blocked) > 0:
		c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.ReasonMissingDependencies
		c.Message = fmt.Sprintf("missing on DR: %s; see status.targets[].failoverBlockers", first(sum.blocked))
	case len(sum.unchecked) > 0:
		c.Status, c.Reason = metav1.ConditionUnknown, v1alpha1.ReasonNotChecked
		c.Message = "not checked: " + strings.Join(sum.unchecked, ", ") + " could not be reached in the last pass"
	}
	meta.SetStatusCondition(&st.Conditions, c)
}

func plural(n int) string {
	if n == 1 {
		return "y"
	}
	return "ies"
}
