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
		retryAt   time.Time
		wantRun   bool
		wantNext  time.Time
	}{
		{"continuous runs and rechecks after the drift interval", spec(v1alpha1.ModeContinuous, ""), v1alpha1.ReplicationStatus{}, "", time.Time{}, true, now.Add(5 * time.Minute)},
		{"scheduled, never synced", spec(v1alpha1.ModeScheduled, "*/15 * * * *"), v1alpha1.ReplicationStatus{}, "", time.Time{}, true, at(10, 15).Time},
		{"scheduled, not yet due", spec(v1alpha1.ModeScheduled, "*/15 * * * *"), v1alpha1.ReplicationStatus{LastSyncTime: at(10, 1)}, "", time.Time{}, false, at(10, 15).Time},
		{"scheduled, due", spec(v1alpha1.ModeScheduled, "*/15 * * * *"), v1alpha1.ReplicationStatus{LastSyncTime: at(9, 59)}, "", time.Time{}, true, at(10, 15).Time},
		{"scheduled, not due, new request runs now", spec(v1alpha1.ModeScheduled, "*/15 * * * *"), v1alpha1.ReplicationStatus{LastSyncTime: at(10, 1), LastHandledSyncRequest: "1"}, "2", time.Time{}, true, at(10, 15).Time},
		{"scheduled, not due, request handled", spec(v1alpha1.ModeScheduled, "*/15 * * * *"), v1alpha1.ReplicationStatus{LastSyncTime: at(10, 1), LastHandledSyncRequest: "2"}, "2", time.Time{}, false, at(10, 15).Time},
		{"scheduled, failed, retry not yet due: waits for it", spec(v1alpha1.ModeScheduled, "0 * * * *"), v1alpha1.ReplicationStatus{LastScheduledTime: at(10, 0), LastSyncTime: at(9, 0)}, "", at(10, 8).Time, false, at(10, 8).Time},
		{"scheduled, failed, retry due", spec(v1alpha1.ModeScheduled, "0 * * * *"), v1alpha1.ReplicationStatus{LastScheduledTime: at(10, 0), LastSyncTime: at(9, 0)}, "", at(10, 6).Time, true, at(11, 0).Time},
		{"scheduled, failed, no retry: a change waits for the schedule", spec(v1alpha1.ModeScheduled, "0 * * * *"), v1alpha1.ReplicationStatus{LastScheduledTime: at(10, 0), LastSyncTime: at(9, 0)}, "", time.Time{}, false, at(11, 0).Time},
		{"scheduled, last pass failed long ago: the schedule runs it", spec(v1alpha1.ModeScheduled, "*/5 * * * *"), v1alpha1.ReplicationStatus{LastScheduledTime: at(10, 0)}, "", at(10, 30).Time, true, at(10, 10).Time},
		{"manual without request", spec(v1alpha1.ModeManual, ""), v1alpha1.ReplicationStatus{}, "", time.Time{}, false, time.Time{}},
		{"manual new request", spec(v1alpha1.ModeManual, ""), v1alpha1.ReplicationStatus{LastHandledSyncRequest: "1"}, "2", time.Time{}, true, time.Time{}},
		{"manual request already handled", spec(v1alpha1.ModeManual, ""), v1alpha1.ReplicationStatus{LastHandledSyncRequest: "2"}, "2", time.Time{}, false, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decideTiming(tt.spec, &tt.status, tt.requested, now, tt.retryAt)
			if got.Run != tt.wantRun || !got.Next.Equal(tt.wantNext) {
				t.Fatalf("decideTiming() = %+v, want run=%v next=%v", got, tt.wantRun, tt.wantNext)
			}
		})
	}
}

func TestRetryBackoff(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 4: 80 * time.Second, 7: 10 * time.Minute, 40: 10 * time.Minute} {
		if got := retryBackoff(attempt); got != want {
			t.Errorf("retryBackoff(%d) = %s, want %s", attempt, got, want)
		}
	}
}
