package mirror

import (
	"maps"
	"slices"
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
