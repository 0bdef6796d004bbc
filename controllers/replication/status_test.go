package replication

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/mirror"
	"github.com/drsyncer/dr-syncer/pkg/readiness"
)

func result(cluster string, counts map[mirror.Action]int) targetResult {
	return targetResult{cluster: cluster, namespaces: []string{"shop-dr"}, counts: counts}
}

// passStatus: what status says after a pass, for each way a pass can end.
func TestPassStatus(t *testing.T) {
	now := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	earlier := metav1.NewTime(now.Add(-time.Hour))
	unavailable := result("dr2", nil)
	unavailable.unavailable = "RemoteCluster \"dr2\" is not ready: connection refused"
	missing := result("dr", map[mirror.Action]int{mirror.ActionUnchanged: 2})
	missing.missing = 1
	stalled := result("dr", map[mirror.Action]int{mirror.ActionRetain: 5})
	stalled.stalled = "5 of 5 copies on dr lost their source"
	drifted := result("dr", map[mirror.Action]int{mirror.ActionCorrect: 1, mirror.ActionUnchanged: 1})
	drifted.drifted = 1
	for _, tc := range []struct {
		name    string
		results []targetResult
		gather  []problem
		failed  bool
		// reason of Ready and the conditions that must be True
		ready  string
		truthy []string
		synced map[string]int32
	}{
		{"every object mirrored", []targetResult{result("dr", map[mirror.Action]int{mirror.ActionCreate: 2, mirror.ActionUnchanged: 3, mirror.ActionRetain: 1})},
			nil, false, v1alpha1.ReasonSucceeded, []string{v1alpha1.ConditionReady, v1alpha1.ConditionSynced}, map[string]int32{"dr": 5}},
		{"one target unavailable", []targetResult{result("dr", map[mirror.Action]int{mirror.ActionCreate: 1}), unavailable},
			nil, true, v1alpha1.ReasonTargetUnavailable, nil, map[string]int32{"dr": 1, "dr2": 0}},
		{"an object failed", []targetResult{result("dr", map[mirror.Action]int{mirror.ActionFailed: 1, mirror.ActionUpdate: 1})},
			nil, true, v1alpha1.ReasonPartialFailure, nil, map[string]int32{"dr": 1}},
		{"a kind failed on the source", []targetResult{result("dr", map[mirror.Action]int{mirror.ActionUnchanged: 1})},
			[]problem{{kind: "Widget", reason: "Failed", message: "not served"}}, true, v1alpha1.ReasonPartialFailure, nil, map[string]int32{"dr": 1}},
		{"copies missing under Report", []targetResult{missing}, nil, false, v1alpha1.ReasonCopiesMissing, []string{v1alpha1.ConditionSynced}, map[string]int32{"dr": 2}},
		{"a mass delete held", []targetResult{stalled}, nil, false, v1alpha1.ReasonSucceeded,
			[]string{v1alpha1.ConditionReady, v1alpha1.ConditionSynced, v1alpha1.ConditionStalled}, map[string]int32{"dr": 0}},
		{"drift corrected", []targetResult{drifted}, nil, false, v1alpha1.ReasonSucceeded,
			[]string{v1alpha1.ConditionReady, v1alpha1.ConditionSynced, v1alpha1.ConditionDrifted}, map[string]int32{"dr": 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev := v1alpha1.ReplicationStatus{Targets: []v1alpha1.TargetStatus{{Cluster: "dr", LastSyncTime: &earlier}, {Cluster: "gone"}}}
			spec := &v1alpha1.ReplicationSpec{}
			spec.Default()
			st, failed := passStatus(prev, pass{spec: spec, generation: 3, results: tc.results, gatherProblems: tc.gather, now: now,
				annotations: map[string]string{keys.AnnotationSyncRequestedAt: "r1"}})
			if failed != tc.failed {
				t.Fatalf("failed %v, want %v", failed, tc.failed)
			}
			if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady); c == nil || c.Reason != tc.ready || c.ObservedGeneration != 3 {
				t.Fatalf("Ready %+v, want reason %s", c, tc.ready)
			}
			for _, typ := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionSynced, v1alpha1.ConditionDrifted, v1alpha1.ConditionStalled, v1alpha1.ConditionReconciling} {
				want := strings.Contains(strings.Join(tc.truthy, ","), typ)
				if got := meta.IsStatusConditionTrue(st.Conditions, typ); got != want {
					t.Errorf("%s is %v, want %v", typ, got, want)
				}
			}
			if len(st.Targets) != len(tc.synced) || st.LastHandledSyncRequest != "r1" {
				t.Fatalf("targets %+v (the removed target must go), handled %q", st.Targets, st.LastHandledSyncRequest)
			}
			for _, ts := range st.Targets {
				if ts.Synced != tc.synced[ts.Cluster] {
					t.Errorf("%s synced %d, want %d", ts.Cluster, ts.Synced, tc.synced[ts.Cluster])
				}
				succeeded := ts.LastSyncTime != nil && ts.LastSyncTime.Time.Equal(now)
				if wantSucceeded := !tc.failed || (ts.Cluster == "dr" && tc.name == "one target unavailable"); succeeded != wantSucceeded {
					t.Errorf("%s lastSyncTime %v after a pass that failed=%v", ts.Cluster, ts.LastSyncTime, tc.failed)
				}
			}
		})
	}
}

// The problems of a target are bounded, the target's own come after the source's, and an
// unavailable target says so first.
func TestTargetProblemsAreBounded(t *testing.T) {
	res := result("dr", map[mirror.Action]int{mirror.ActionFailed: 30})
	res.unavailable = "cannot read ConfigMap copies: timeout"
	for range 30 {
		res.problems = append(res.problems, problem{kind: "ConfigMap", reason: "Failed"})
	}
	spec := &v1alpha1.ReplicationSpec{}
	spec.Default()
	st, _ := passStatus(v1alpha1.ReplicationStatus{}, pass{spec: spec, results: []targetResult{res}, now: time.Now(),
		gatherProblems: []problem{{kind: "Widget", reason: "Failed"}}})
	ps := st.Targets[0].Problems
	if len(ps) != maxProblems || ps[0].Kind != "RemoteCluster" || ps[0].Reason != "Unavailable" || ps[1].Kind != "Widget" {
		t.Fatalf("%d problems, first %+v, %+v", len(ps), ps[0], ps[1])
	}
}

// FailoverReady: True when every target was checked and lacks nothing; False names what is
// missing; Unknown when a target could not be checked.
func TestFailoverReadyStatus(t *testing.T) {
	web := readiness.Ref{Group: "apps", Kind: "Deployment", Namespace: "shop-dr", Name: "web"}
	missing := readiness.Blocker{Missing: readiness.Ref{Kind: "ConfigMap", Namespace: "shop-dr", Name: "settings"}, NeededBy: web}
	crd := readiness.Blocker{Missing: readiness.Ref{Group: "example.com", Kind: "CustomResourceDefinition", Name: "Widget"},
		NeededBy: readiness.Ref{Group: "example.com", Kind: "Widget", Namespace: "shop-dr", Name: "w"}}
	ready := result("dr", nil)
	ready.checked = true
	blocked := ready
	blocked.blockers = []readiness.Blocker{missing, crd}
	unchecked := result("dr2", nil)
	unchecked.unavailable = "not ready"
	for _, tc := range []struct {
		name    string
		results []targetResult
		status  metav1.ConditionStatus
		reason  string
		message string
	}{
		{"ready", []targetResult{ready}, metav1.ConditionTrue, v1alpha1.ReasonSucceeded, "every DR copy"},
		{"a ConfigMap and a CRD missing", []targetResult{blocked, unchecked}, metav1.ConditionFalse, v1alpha1.ReasonMissingDependencies,
			"missing on DR: ConfigMap shop-dr/settings on dr (needed by Deployment shop-dr/web), CustomResourceDefinition for Widget.example.com on dr"},
		{"a target not checked", []targetResult{ready, unchecked}, metav1.ConditionUnknown, v1alpha1.ReasonNotChecked, "dr2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &v1alpha1.ReplicationSpec{}
			spec.Default()
			st, _ := passStatus(v1alpha1.ReplicationStatus{}, pass{spec: spec, results: tc.results, now: time.Now()})
			c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionFailoverReady)
			if c == nil || c.Status != tc.status || c.Reason != tc.reason || !strings.Contains(c.Message, tc.message) {
				t.Fatalf("FailoverReady %+v, want %s %s %q", c, tc.status, tc.reason, tc.message)
			}
			ts := st.Targets[0]
			if ts.FailoverReady == nil || *ts.FailoverReady != (len(tc.results[0].blockers) == 0) || len(ts.FailoverBlockers) != len(tc.results[0].blockers) {
				t.Fatalf("target readiness %v, blockers %+v", ts.FailoverReady, ts.FailoverBlockers)
			}
		})
	}
	st, _ := passStatus(v1alpha1.ReplicationStatus{}, pass{spec: &v1alpha1.ReplicationSpec{}, results: []targetResult{blocked}, now: time.Now()})
	if b := st.Targets[0].FailoverBlockers; b[0].Name != "settings" || b[0].Reason != "Missing" || b[0].Message != "needed by Deployment shop-dr/web; not on cluster dr" ||
		b[1].Kind != "CustomResourceDefinition" || b[1].Name != "Widget.example.com" {
		t.Fatalf("blockers %+v", b)
	}
	st, _ = passStatus(v1alpha1.ReplicationStatus{}, pass{spec: &v1alpha1.ReplicationSpec{}, results: []targetResult{unchecked}, now: time.Now()})
	if st.Targets[0].FailoverReady != nil || st.Targets[0].FailoverBlockers != nil {
		t.Fatal("a target that was not checked says it is ready or not")
	}
}
