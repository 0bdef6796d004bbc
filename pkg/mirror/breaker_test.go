package mirror

import (
	"testing"
	"time"
)

func TestDeleteLogWindow(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 30, 0, time.UTC)
	l := DeleteLog{}
	// One delete every 11 s for ten minutes: a slow drain.
	for i := range 55 {
		l.Add(t0.Add(time.Duration(i)*11*time.Second), 1)
	}
	now := t0.Add(10 * time.Minute)
	tests := []struct {
		window time.Duration
		want   int
	}{
		{time.Hour, 55},        // all of them: slow draining does not escape the window
		{10 * time.Minute, 55}, // the first minute overlaps the window and counts whole
		{2 * time.Minute, 14},  // the minutes 10:08, 10:09 and 10:10 (now is 10:10:30): 6 + 5 + 3
		{0, 3},                 // only the current minute
	}
	for _, tt := range tests {
		if got := l.Within(now, tt.window); got != tt.want {
			t.Errorf("Within(%s) = %d, want %d", tt.window, got, tt.want)
		}
	}
	l.Forget(now, 2*time.Minute)
	if got := len(l.Minutes()); got != 3 {
		t.Errorf("after Forget, %d minutes are left, want 3: %v", got, l.Minutes())
	}
}

func TestDeleteLogMerge(t *testing.T) {
	m := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	memory := DeleteLog{m: 5, m.Add(time.Minute): 2}
	persisted := DeleteLog{m: 3, m.Add(-time.Minute): 4}
	memory.Merge(persisted)
	want := DeleteLog{m.Add(-time.Minute): 4, m: 5, m.Add(time.Minute): 2}
	if len(memory) != len(want) {
		t.Fatalf("merged %v, want %v", memory, want)
	}
	for k, v := range want {
		if memory[k] != v {
			t.Errorf("minute %s: %d, want %d", k.Format("15:04"), memory[k], v)
		}
	}
	if got := memory.Minutes(); !got[0].Equal(m.Add(-time.Minute)) || !got[2].Equal(m.Add(time.Minute)) {
		t.Errorf("Minutes() = %v, want oldest first", got)
	}
}

func TestDeleteBudget(t *testing.T) {
	tests := []struct {
		name             string
		managed, deleted int
		approved         bool
		want             int
	}{
		{"small target: the minimum", 3, 0, false, 5},
		{"fraction of a large one", 1000, 0, false, 100},
		{"less what the window holds", 1000, 60, false, 40},
		{"window full", 1000, 100, false, 0},
		{"never negative", 40, 13, false, 0},
		{"approved: unlimited for one pass", 40, 13, true, int(^uint(0) >> 1)},
		{"limit shrinks with the copies: 40 copies, 0.1", 40, 4, false, 1},
	}
	for _, tt := range tests {
		if got := DeleteBudget(tt.managed, tt.deleted, 0.1, 5, tt.approved); got != tt.want {
			t.Errorf("%s: DeleteBudget(%d, %d) = %d, want %d", tt.name, tt.managed, tt.deleted, got, tt.want)
		}
	}
}

// The deletes of this process and those in status add up (a merge never double-counts a minute
// both know), age out of the window, and go with the replication.
func TestDeleteLogsMergeWithStatus(t *testing.T) {
	now := time.Date(2026, 12, 6, 4, 30, 0, 0, time.UTC)
	d := NewDeleteLogs()
	d.Record("prod", "dr", now.Add(-2*time.Hour))
	d.Record("prod", "dr", now)
	d.Record("prod", "dr", now)
	d.Record("shop/app", "dr", now)
	persisted := DeleteLog{}
	persisted.Add(now, 2)                      // what this process recorded, as the last pass wrote it
	persisted.Add(now.Add(-10*time.Minute), 4) // a previous leader's
	got := d.Merged("prod", "dr", persisted, now, time.Hour)
	if got.Within(now, time.Hour) != 6 || len(got) != 2 {
		t.Fatalf("merged %v, want 2 now and 4 ten minutes ago", got)
	}
	got[now] = 100 // a copy: the log itself is not changed
	d.ForgetReplication("prod")
	if l := d.Merged("prod", "dr", nil, now, time.Hour); len(l) != 0 {
		t.Fatalf("a forgotten replication's log: %v", l)
	}
	if l := d.Merged("shop/app", "dr", nil, now, time.Hour); l.Within(now, time.Hour) != 1 {
		t.Fatalf("another replication's log was forgotten: %v", l)
	}
}
