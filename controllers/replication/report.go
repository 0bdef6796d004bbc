package replication

import (
	"context"
	"fmt"
	"strings"
	"time"

	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/schedule"
)

// report sets the status a pass leaves, and records its gauges and events apart from it. It says
// whether any target failed.
func (r *Reconciler) report(ctx context.Context, s *subject, results []targetResult, gatherProblems []problem, t schedule.Timing, now time.Time) bool {
	prev := s.status.Targets
	st, failed := passStatus(*s.status, pass{spec: s.spec, generation: s.obj.GetGeneration(), annotations: s.obj.GetAnnotations(),
		results: results, gatherProblems: gatherProblems, next: t.Next, now: now})
	*s.status = st
	for _, ts := range st.Targets {
		r.Metrics.Objects(s.ref, ts.Cluster, map[string]int32{"synced": ts.Synced, "failed": ts.Failed, "drifted": ts.Drifted, "conflicts": ts.Conflicts})
		r.Metrics.FailoverReady(s.ref, ts.Cluster, ts.FailoverReady != nil, ts.FailoverReady != nil && *ts.FailoverReady)
	}
	for _, p := range prev {
		if st.Target(p.Cluster) == nil {
			r.Metrics.ForgetTarget(s.ref, p.Cluster) // the target was removed from the spec
		}
	}
	for _, res := range results {
		r.emit(s, res)
	}
	logf.FromContext(ctx).V(1).Info("pass finished", "replication", s.ref, "targets", len(results), "failed", failed)
	return failed
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
