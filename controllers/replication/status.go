package replication

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/metrics"
	"github.com/drsyncer/dr-syncer/pkg/mirror"
)

// maxProblems bounds the per-target problem list in status.
const maxProblems = 20

func condition(s *subject, typ string, status bool, reason, format string, args ...any) {
	st := metav1.ConditionFalse
	if status {
		st = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&s.status.Conditions, metav1.Condition{Type: typ, Status: st, Reason: reason,
		Message: fmt.Sprintf(format, args...), ObservedGeneration: s.obj.GetGeneration()})
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

func setWaiting(s *subject, t timing) {
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

// report turns the target results into status, events and gauges, and says whether any target failed.
func (r *Reconciler) report(ctx context.Context, s *subject, results []targetResult, gatherProblems []problem, t timing, now time.Time) bool {
	log := logf.FromContext(ctx)
	nowT := metav1.NewTime(now)
	var targets []v1alpha1.TargetStatus
	var unavailable, failing, stalled, promoted, missing []string
	drifted, conflicts := 0, 0
	for _, res := range results {
		ts := v1alpha1.TargetStatus{Cluster: res.cluster, Namespaces: res.namespaces}
		if prev := findTarget(s.status.Targets, res.cluster); prev != nil {
			ts.LastSyncTime = prev.LastSyncTime
		}
		if !t.Next.IsZero() && s.spec.Mode == v1alpha1.ModeScheduled {
			next := metav1.NewTime(t.Next)
			ts.NextSyncTime = &next
		}
		// Only what this pass wrote or found equal on DR; a copy that is missing, pending in the
		// DR cache or kept without a source is not synced.
		ts.Synced = int32(res.counts[mirror.ActionCreate] + res.counts[mirror.ActionUpdate] + res.counts[mirror.ActionCorrect] +
			res.counts[mirror.ActionAdopt] + res.counts[mirror.ActionUnchanged] + res.counts[mirror.ActionReplace])
		ts.Failed = int32(res.counts[mirror.ActionFailed])
		ts.Drifted = int32(res.drifted)
		ts.Conflicts = int32(res.counts[mirror.ActionConflict])
		ts.Promoted = int32(res.promoted)
		ts.Retained = int32(res.counts[mirror.ActionRetain])
		for _, m := range res.deletions.Minutes() {
			ts.RecentDeletions = append(ts.RecentDeletions, v1alpha1.DeletionCount{Minute: metav1.NewTime(m), Count: int32(res.deletions[m])})
		}
		if res.unavailable != "" && res.deletions == nil {
			if prev := findTarget(s.status.Targets, res.cluster); prev != nil {
				ts.RecentDeletions = prev.RecentDeletions // nothing was deleted: keep what was known
			}
		}
		if res.missing > 0 {
			missing = append(missing, fmt.Sprintf("%d on %s", res.missing, res.cluster))
		}
		if res.promoted > 0 {
			promoted = append(promoted, fmt.Sprintf("%d on %s", res.promoted, res.cluster))
		}
		problems := append(append([]problem{}, gatherProblems...), res.problems...)
		switch {
		case res.unavailable != "":
			problems = append([]problem{{kind: "RemoteCluster", name: res.cluster, reason: "Unavailable", message: res.unavailable}}, problems...)
			unavailable = append(unavailable, res.cluster+": "+res.unavailable)
		case ts.Failed > 0 || len(gatherProblems) > 0:
			failing = append(failing, fmt.Sprintf("%s: %d failed", res.cluster, ts.Failed+int32(len(gatherProblems))))
		default:
			ts.LastSyncTime = &nowT
		}
		if res.stalled != "" {
			stalled = append(stalled, res.stalled)
		}
		for _, p := range problems[:min(len(problems), maxProblems)] {
			ts.Problems = append(ts.Problems, v1alpha1.ObjectProblem{Kind: p.kind, Namespace: p.namespace, Name: p.name, Reason: p.reason, Message: p.message})
		}
		drifted += res.drifted
		conflicts += int(ts.Conflicts)
		for state, n := range map[string]int32{"synced": ts.Synced, "failed": ts.Failed, "drifted": ts.Drifted, "conflicts": ts.Conflicts} {
			metrics.Objects.WithLabelValues(s.ref, res.cluster, state).Set(float64(n))
		}
		r.emit(s, res)
		targets = append(targets, ts)
	}
	for _, prev := range s.status.Targets {
		if findTarget(targets, prev.Cluster) == nil {
			metrics.ForgetTarget(s.ref, prev.Cluster) // the target was removed from the spec
		}
	}
	s.status.Targets = targets
	s.status.LastHandledSyncRequest = s.requested()
	s.status.LastHandledDeleteApproval = s.obj.GetAnnotations()[v1alpha1.AnnotationApproveDeletes]

	failed := len(unavailable)+len(failing) > 0
	switch {
	case len(unavailable) > 0:
		condition(s, v1alpha1.ConditionReady, false, v1alpha1.ReasonTargetUnavailable, "%s", strings.Join(unavailable, "; "))
	case len(failing) > 0:
		condition(s, v1alpha1.ConditionReady, false, v1alpha1.ReasonPartialFailure, "some objects failed (%s); see status.targets[].problems", strings.Join(failing, ", "))
	case len(missing) > 0:
		condition(s, v1alpha1.ConditionReady, false, v1alpha1.ReasonCopiesMissing, "DR copies are missing (%s) and drift policy %s does not recreate them until their source changes; see status.targets[].problems",
			strings.Join(missing, ", "), s.spec.Drift.Policy)
	case len(promoted) > 0:
		condition(s, v1alpha1.ConditionReady, false, v1alpha1.ReasonPromoted, "DR copies are promoted (%s) and left alone until `kubectl drsyncer demote`", strings.Join(promoted, ", "))
	default:
		condition(s, v1alpha1.ConditionReady, true, v1alpha1.ReasonSucceeded, "every object is mirrored to every target")
		s.status.LastSyncTime = &nowT
	}
	condition(s, v1alpha1.ConditionSynced, !failed, map[bool]string{true: v1alpha1.ReasonSucceeded, false: v1alpha1.ReasonPartialFailure}[!failed],
		"last pass: %d target(s), %d problem(s)", len(results), len(unavailable)+len(failing))
	if drifted > 0 {
		verb := "corrected"
		if s.spec.Drift.Policy == v1alpha1.DriftReport {
			verb = "reported"
		}
		condition(s, v1alpha1.ConditionDrifted, true, v1alpha1.ReasonDriftDetected, "%d DR cop%s changed or deleted on the DR side; %s", drifted, plural(drifted), verb)
	} else {
		condition(s, v1alpha1.ConditionDrifted, false, v1alpha1.ReasonNoDrift, "every DR copy matches its desired state")
	}
	condition(s, v1alpha1.ConditionReconciling, false, v1alpha1.ReasonSucceeded, "pass finished")
	if len(stalled) > 0 {
		condition(s, v1alpha1.ConditionStalled, true, v1alpha1.ReasonMassDeleteBlocked, "%s", strings.Join(stalled, "; "))
	} else {
		condition(s, v1alpha1.ConditionStalled, false, v1alpha1.ReasonSucceeded, "not stalled")
	}
	log.V(1).Info("pass finished", "replication", s.ref, "targets", len(results), "drifted", drifted, "conflicts", conflicts, "failed", failed)
	return failed
}

func plural(n int) string {
	if n == 1 {
		return "y"
	}
	return "ies"
}

// emit records events on the replication for drift, conflicts and stalls of one target.
func (r *Reconciler) emit(s *subject, res targetResult) {
	if r.Recorder == nil {
		return
	}
	var drifted, conflicts, deleting []string
	for _, p := range res.problems {
		switch p.reason {
		case v1alpha1.ReasonSourceNamespaceDeleted:
			deleting = append(deleting, p.namespace)
		case "Drifted":
			drifted = append(drifted, p.kind+"/"+p.namespace+"/"+p.name)
		case "Conflict":
			conflicts = append(conflicts, p.kind+"/"+p.namespace+"/"+p.name)
		}
	}
	if len(drifted) > 0 {
		r.Recorder.Eventf(s.obj, nil, "Warning", v1alpha1.ReasonDriftDetected, "Sync",
			"%d DR cop%s on %s drifted (%s policy): %s", len(drifted), plural(len(drifted)), res.cluster, s.spec.Drift.Policy, first(drifted))
	}
	if len(conflicts) > 0 {
		r.Recorder.Eventf(s.obj, nil, "Warning", "ConflictSkipped", "Sync",
			"%d object(s) on %s exist and are not managed by dr-syncer: %s", len(conflicts), res.cluster, first(conflicts))
	}
	if len(deleting) > 0 {
		r.Recorder.Eventf(s.obj, nil, "Warning", v1alpha1.ReasonSourceNamespaceDeleted, "Prune",
			"source namespace(s) %s being deleted: their copies on %s are kept; delete them on DR by hand once decommissioned (docs/operations.md)", first(deleting), res.cluster)
	}
	if res.stalled != "" {
		r.Recorder.Eventf(s.obj, nil, "Warning", v1alpha1.ReasonMassDeleteBlocked, "Prune", "%s", res.stalled)
	}
}

func first(items []string) string {
	if len(items) > 5 {
		return strings.Join(items[:5], ", ") + fmt.Sprintf(" and %d more", len(items)-5)
	}
	return strings.Join(items, ", ")
}

func findTarget(ts []v1alpha1.TargetStatus, cluster string) *v1alpha1.TargetStatus {
	for i := range ts {
		if ts[i].Cluster == cluster {
			return &ts[i]
		}
	}
	return nil
}
