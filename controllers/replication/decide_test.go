package replication

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

func TestDecideTiming(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 7, 0, 0, time.UTC)
	at := func(h, m int) *metav1.Time {
		t := metav1.NewTime(time.Date(2026, 3, 1, h, m, 0, 0, time.UTC))
		return &t
	}
	spec := func(mode v1alpha1.SyncMode, schedule string) *v1alpha1.ReplicationSpec {
		s := &v1alpha1.ReplicationSpec{Mode: mode, Schedule: schedule}
		s.Default()
		return s
	}
	tests := []struct {
		name      string
		spec      *v1alpha1.ReplicationSpec
		status    v1alpha1.ReplicationStatus
		requested string
		wantRun   bool
		wantNext  time.Time
	}{
		{"continuous runs and rechecks after the drift interval", spec(v1alpha1.ModeContinuous, ""), v1alpha1.ReplicationStatus{}, "", true, now.Add(5 * time.Minute)},
		{"scheduled, never synced", spec(v1alpha1.ModeScheduled, "*/15 * * * *"), v1alpha1.ReplicationStatus{}, "", true, at(10, 15).Time},
		{"scheduled, not yet due", spec(v1alpha1.ModeScheduled, "*/15 * * * *"), v1alpha1.ReplicationStatus{LastSyncTime: at(10, 1)}, "", false, at(10, 15).Time},
		{"scheduled, due", spec(v1alpha1.ModeScheduled, "*/15 * * * *"), v1alpha1.ReplicationStatus{LastSyncTime: at(9, 59)}, "", true, at(10, 15).Time},
		{"scheduled, not due, new request runs now", spec(v1alpha1.ModeScheduled, "*/15 * * * *"), v1alpha1.ReplicationStatus{LastSyncTime: at(10, 1), LastHandledSyncRequest: "1"}, "2", true, at(10, 15).Time},
		{"scheduled, not due, request handled", spec(v1alpha1.ModeScheduled, "*/15 * * * *"), v1alpha1.ReplicationStatus{LastSyncTime: at(10, 1), LastHandledSyncRequest: "2"}, "2", false, at(10, 15).Time},
		{"manual without request", spec(v1alpha1.ModeManual, ""), v1alpha1.ReplicationStatus{}, "", false, time.Time{}},
		{"manual new request", spec(v1alpha1.ModeManual, ""), v1alpha1.ReplicationStatus{LastHandledSyncRequest: "1"}, "2", true, time.Time{}},
		{"manual request already handled", spec(v1alpha1.ModeManual, ""), v1alpha1.ReplicationStatus{LastHandledSyncRequest: "2"}, "2", false, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decideTiming(tt.spec, &tt.status, tt.requested, now)
			if got.Run != tt.wantRun || !got.Next.Equal(tt.wantNext) {
				t.Fatalf("decideTiming() = %+v, want run=%v next=%v", got, tt.wantRun, tt.wantNext)
			}
		})
	}
}
