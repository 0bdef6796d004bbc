package mirror

import (
	"maps"
	"slices"
	"sync"
	"time"
)

// DeleteLog counts the copies a target deleted (pruned or replaced), per minute: the mass-delete
// breaker's memory. It is small (one entry a minute of the window) so that it can be kept in
// status, where a restart or a new leader finds it.
type DeleteLog map[time.Time]int

// minute is the start of the minute t falls in.
func minute(t time.Time) time.Time { return t.UTC().Truncate(time.Minute) }

// Add records n deletes at t.
func (l DeleteLog) Add(at time.Time, n int) { l[minute(at)] += n }

// Within counts the deletes of the window that ends at now. A minute that overlaps the window
// counts whole, so the breaker errs on the side of deleting less.
func (l DeleteLog) Within(now time.Time, window time.Duration) int {
	cutoff := minute(now.Add(-window))
	n := 0
	for m, c := range l {
		if !m.Before(cutoff) {
			n += c
		}
	}
	return n
}

// Forget drops the minutes that left the window ending at now.
func (l DeleteLog) Forget(now time.Time, window time.Duration) {
	cutoff := minute(now.Add(-window))
	maps.DeleteFunc(l, func(m time.Time, _ int) bool { return m.Before(cutoff) })
}

// Merge takes in what other knows, minute by minute, keeping the larger count: the log kept in
// memory and the one read back from status record the same deletes, one of them possibly fewer.
func (l DeleteLog) Merge(other DeleteLog) {
	for m, c := range other {
		l[minute(m)] = max(l[minute(m)], c)
	}
}

// Minutes are the minutes of the log, oldest first.
func (l DeleteLog) Minutes() []time.Time { return slices.SortedFunc(maps.Keys(l), time.Time.Compare) }

// DeleteLimit is the mass-delete breaker: within its window a target deletes at most maxFraction
// of the copies it manages now, but always at least minAllowed, so small namespaces can still be
// emptied.
func DeleteLimit(managed int, maxFraction float64, minAllowed int) int {
	return max(minAllowed, int(maxFraction*float64(managed)))
}

// DeleteBudget is how many more copies a target may delete now: its limit less what the window
// already holds; unlimited for one pass an operator approved.
func DeleteBudget(managed, deletedInWindow int, maxFraction float64, minAllowed int, approved bool) int {
	if approved {
		return int(^uint(0) >> 1)
	}
	return max(0, DeleteLimit(managed, maxFraction, minAllowed)-deletedInWindow)
}

// DeleteLogs are the recent deletes of every replication's targets in this process; each pass
// merges them with the log the last pass left in status (a restart or a new leader starts from
// that), so that a slow drain or a restart does not escape the breaker.
type DeleteLogs struct {
	mu   sync.Mutex
	logs map[deleteLogKey]DeleteLog
}

type deleteLogKey struct{ replication, target string }

func NewDeleteLogs() *DeleteLogs { return &DeleteLogs{logs: map[deleteLogKey]DeleteLog{}} }

// Merged is a target's log merged with persisted, without what is older than window.
func (d *DeleteLogs) Merged(replication, target string, persisted DeleteLog, now time.Time, window time.Duration) DeleteLog {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := deleteLogKey{replication, target}
	l := d.logs[k]
	if l == nil {
		l = DeleteLog{}
		d.logs[k] = l
	}
	l.Merge(persisted)
	l.Forget(now, window)
	return maps.Clone(l)
}

// Record counts one delete on a target.
func (d *DeleteLogs) Record(replication, target string, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := deleteLogKey{replication, target}
	if d.logs[k] == nil {
		d.logs[k] = DeleteLog{}
	}
	d.logs[k].Add(at, 1)
}

// ForgetReplication drops the logs of a replication that is gone.
func (d *DeleteLogs) ForgetReplication(replication string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	maps.DeleteFunc(d.logs, func(k deleteLogKey, _ DeleteLog) bool { return k.replication == replication })
}
