package schedule

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
			got := Decide(tt.spec, &tt.status, tt.requested, now, tt.retryAt)
			if got.Run != tt.wantRun || !got.Next.Equal(tt.wantNext) {
				t.Fatalf("Decide() = %+v, want run=%v next=%v", got, tt.wantRun, tt.wantNext)
			}
		})
	}
}

func TestRetryBackoff(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 4: 80 * time.Second, 7: 10 * time.Minute, 40: 10 * time.Minute} {
		if got := RetryBackoff(attempt); got != want {
			t.Errorf("RetryBackoff(%d) = %s, want %s", attempt, got, want)
		}
	}
}

func TestRetriesBackOff(t *testing.T) {
	r := NewRetries()
	now := time.Date(2026, 12, 4, 4, 0, 0, 0, time.UTC)
	if !r.At("prod").IsZero() {
		t.Fatal("a retry before any failure")
	}
	first := r.Failed("prod", now)
	second := r.Failed("prod", now)
	if first.Sub(now) != 10*time.Second || second.Sub(now) != 20*time.Second || !r.At("prod").Equal(second) {
		t.Fatalf("retries at %s and %s, want +10s and +20s", first.Sub(now), second.Sub(now))
	}
	r.Succeeded("prod")
	if !r.At("prod").IsZero() {
		t.Fatal("a success keeps the retry")
	}
}

// A status that does not show the last Scheduled pass yet (the cache lags the status patch) does
// not make the pass due again.
func TestRetriesRememberTheLastScheduledPass(t *testing.T) {
	r := NewRetries()
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	spec := &v1alpha1.ReplicationSpec{Mode: v1alpha1.ModeScheduled, Schedule: "0 0 1 1 *"}
	spec.Default()
	stale := &v1alpha1.ReplicationStatus{}
	if !Decide(spec, r.Latest("prod", stale), "", now, time.Time{}).Run {
		t.Fatal("a replication that never passed is due")
	}
	r.Ran("prod", now)
	if Decide(spec, r.Latest("prod", stale), "", now.Add(time.Second), time.Time{}).Run {
		t.Fatal("a stale status ran the yearly pass twice")
	}
	newer := metav1.NewTime(now.Add(time.Hour))
	if got := r.Latest("prod", &v1alpha1.ReplicationStatus{LastScheduledTime: &newer}); !got.LastScheduledTime.Equal(&newer) {
		t.Fatal("a newer status lost to memory")
	}
	r.Forget("prod")
	if r.Latest("prod", stale) != stale {
		t.Fatal("a forgotten replication's pass is remembered")
	}
}

func TestBackfillsAreDue(t *testing.T) {
	b := NewBackfills()
	t0 := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	steps := []struct {
		at      time.Duration
		sources uint64
		want    bool
	}{
		{0, 1, true},                // never ran
		{time.Minute, 1, false},     // within the interval
		{2 * time.Minute, 2, true},  // a namespace opted in
		{6 * time.Minute, 2, false}, // four minutes since
		{7 * time.Minute, 2, true},  // the interval passed
	}
	for i, s := range steps {
		if got := b.Due("prod", s.sources, t0.Add(s.at), 5*time.Minute); got != s.want {
			t.Fatalf("step %d: due %v, want %v", i, got, s.want)
		}
	}
	b.Forget("prod")
	if !b.Due("prod", 2, t0.Add(8*time.Minute), 5*time.Minute) {
		t.Fatal("a forgotten replication's backfill is not due")
	}
}

func TestExpectedInterval(t *testing.T) {
	now := time.Date(2026, 12, 6, 4, 7, 0, 0, time.UTC)
	for _, tc := range []struct {
		mode     v1alpha1.SyncMode
		schedule string
		want     time.Duration
	}{
		{v1alpha1.ModeContinuous, "", 5 * time.Minute},
		{v1alpha1.ModeScheduled, "*/15 * * * *", 15 * time.Minute},
		{v1alpha1.ModeScheduled, "0 3 * * *", 24 * time.Hour},
		{v1alpha1.ModeScheduled, "not a schedule", 0},
		{v1alpha1.ModeManual, "", 0},
	} {
		spec := &v1alpha1.ReplicationSpec{Mode: tc.mode, Schedule: tc.schedule}
		spec.Default()
		if got := ExpectedInterval(spec, now); got != tc.want {
			t.Errorf("%s %q: %s, want %s", tc.mode, tc.schedule, got, tc.want)
		}
	}
}
