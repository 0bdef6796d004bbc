package cli

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

func TestRecoveryPoint(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	synced := func(ago time.Duration, failed int32) *v1alpha1.TargetStatus {
		at := metav1.NewTime(now.Add(-ago))
		return &v1alpha1.TargetStatus{Cluster: "dr", LastSyncTime: &at, Failed: failed}
	}
	ready := &metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue}
	notReady := &metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse}
	spec := func(mode v1alpha1.SyncMode, suspend bool) *v1alpha1.ReplicationSpec {
		return &v1alpha1.ReplicationSpec{Mode: mode, Suspend: suspend}
	}
	tests := []struct {
		name  string
		spec  *v1alpha1.ReplicationSpec
		ready *metav1.Condition
		ts    *v1alpha1.TargetStatus
		want  string
	}{
		{"never synced", spec(v1alpha1.ModeContinuous, false), ready, &v1alpha1.TargetStatus{Cluster: "dr"}, "unknown (never synced)"},
		{"no status for the target", spec(v1alpha1.ModeContinuous, false), ready, nil, "unknown (never synced)"},
		{"continuous and healthy", spec(v1alpha1.ModeContinuous, false), ready, synced(3*time.Minute, 0), "current"},
		{"continuous, objects failing", spec(v1alpha1.ModeContinuous, false), notReady, synced(3*time.Minute, 2), "3m"},
		{"continuous, target down since", spec(v1alpha1.ModeContinuous, false), notReady, synced(40*time.Minute, 0), "40m"},
		{"scheduled: as old as the last pass", spec(v1alpha1.ModeScheduled, false), ready, synced(5*time.Hour, 0), "5h"},
		{"suspended", spec(v1alpha1.ModeContinuous, true), notReady, synced(90*time.Second, 0), "90s (suspended)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RecoveryPoint(tt.spec, tt.ready, tt.ts, now); got != tt.want {
				t.Fatalf("RecoveryPoint() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFailoverReadyColumn(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		ts   *v1alpha1.TargetStatus
		want string
	}{
		{nil, "unknown"},
		{&v1alpha1.TargetStatus{}, "unknown"},
		{&v1alpha1.TargetStatus{FailoverReady: &yes}, "Yes"},
		{&v1alpha1.TargetStatus{FailoverReady: &no, FailoverBlockers: []v1alpha1.ObjectProblem{{Kind: "ConfigMap"}, {Kind: "StorageClass"}}}, "No (2 missing)"},
	} {
		if got := FailoverReady(tc.ts); got != tc.want {
			t.Errorf("FailoverReady(%+v) = %q, want %q", tc.ts, got, tc.want)
		}
	}
}
