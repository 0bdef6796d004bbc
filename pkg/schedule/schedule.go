// Package schedule decides when a replication passes: its mode (Continuous, Scheduled, Manual),
// the retries of a failed Scheduled pass, how often the staleness alert expects a pass, and when
// the backfill of labels the webhook missed is due. Pure decisions, and the small memories they
// need, each with its own lock.
package schedule

import (
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

// cronParser parses the standard 5-field schedules the webhook admits.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Timing is the decision of whether a pass writes now and when the next one is due.
type Timing struct {
	// Run says a pass runs now.
	Run bool
	// Next is when the controller should look again (zero: only on a change).
	Next time.Time
	// Reason explains a pass that does not run, for status and logs.
	Reason string
}

// Decide applies the mode: Continuous always runs (and re-runs every drift interval);
// Scheduled runs when the schedule has come due since the last scheduled pass, successful or not,
// and retries a failed pass at retryAt (zero: none pending), never at every change; Manual runs
// once per new request annotation value, which also brings a Scheduled pass forward.
func Decide(spec *v1alpha1.ReplicationSpec, st *v1alpha1.ReplicationStatus, requested string, now, retryAt time.Time) Timing {
	newRequest := requested != "" && requested != st.LastHandledSyncRequest
	switch spec.Mode {
	case v1alpha1.ModeScheduled:
		sched, err := cronParser.Parse(spec.Schedule)
		if err != nil {
			return Timing{Reason: "invalid schedule: " + err.Error()}
		}
		last := st.LastScheduledTime
		if last == nil {
			last = st.LastSyncTime // written before lastScheduledTime existed
		}
		if last == nil || newRequest {
			return Timing{Run: true, Next: sched.Next(now)}
		}
		due := sched.Next(last.Time)
		switch {
		case !now.Before(due):
			return Timing{Run: true, Next: sched.Next(now)}
		case !retryAt.IsZero() && !now.Before(retryAt):
			return Timing{Run: true, Next: due}
		case !retryAt.IsZero() && retryAt.Before(due):
			return Timing{Next: retryAt, Reason: "the last scheduled pass failed: retrying with backoff"}
		}
		return Timing{Next: due, Reason: "waiting for the next scheduled pass"}
	case v1alpha1.ModeManual:
		if newRequest {
			return Timing{Run: true}
		}
		return Timing{Reason: "waiting for a new " + keys.AnnotationSyncRequestedAt + " value"}
	default:
		return Timing{Run: true, Next: now.Add(spec.Drift.Interval.Duration)}
	}
}

// RetryBackoff is how long a failed Scheduled pass waits before its attempt-th retry: 10 s,
// doubling, at most 10 minutes.
func RetryBackoff(attempt int) time.Duration {
	return min(10*time.Second<<min(max(attempt-1, 0), 10), 10*time.Minute)
}

// ExpectedInterval is how often a replication should pass, which the staleness alert compares
// against: the drift interval when Continuous, the schedule's period when Scheduled; a Manual
// replication (or an invalid schedule) has none.
func ExpectedInterval(spec *v1alpha1.ReplicationSpec, now time.Time) time.Duration {
	switch spec.Mode {
	case v1alpha1.ModeManual:
		return 0
	case v1alpha1.ModeScheduled:
		sched, err := cronParser.Parse(spec.Schedule)
		if err != nil {
			return 0
		}
		next := sched.Next(now)
		return sched.Next(next).Sub(next)
	}
	return spec.Drift.Interval.Duration
}

// Retries are the pending retries of failed Scheduled passes, per replication, and when each
// replication's last Scheduled pass ran: the status that says so can reach the controller's cache
// after the next event does, and a stale status must not run the pass twice.
type Retries struct {
	mu      sync.Mutex
	pending map[string]retry
	ran     map[string]time.Time
}

type retry struct {
	attempt int
	at      time.Time
}

func NewRetries() *Retries { return &Retries{pending: map[string]retry{}, ran: map[string]time.Time{}} }

// Ran records a Scheduled pass of ref at t.
func (r *Retries) Ran(ref string, t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ran[ref] = t
}

// Latest is st with the last Scheduled pass this process ran, when st does not show it yet.
func (r *Retries) Latest(ref string, st *v1alpha1.ReplicationStatus) *v1alpha1.ReplicationStatus {
	r.mu.Lock()
	ran, ok := r.ran[ref]
	r.mu.Unlock()
	if !ok || (st.LastScheduledTime != nil && !st.LastScheduledTime.Time.Before(ran)) {
		return st
	}
	latest := *st
	latest.LastScheduledTime = &metav1.Time{Time: ran}
	return &latest
}

// At is when the failed pass of ref is retried (zero: none pending).
func (r *Retries) At(ref string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pending[ref].at
}

// Failed records another failed Scheduled pass and returns when to retry it.
func (r *Retries) Failed(ref string, now time.Time) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pending[ref]
	p.attempt++
	p.at = now.Add(RetryBackoff(p.attempt))
	r.pending[ref] = p
	return p.at
}

// Succeeded drops the retry of ref.
func (r *Retries) Succeeded(ref string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pending, ref)
}

// Forget drops what is known of a replication that is gone.
func (r *Retries) Forget(ref string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pending, ref)
	delete(r.ran, ref)
}

// Backfills are when each replication last labeled what the webhook missed, and over which
// source namespaces.
type Backfills struct {
	mu   sync.Mutex
	last map[string]backfill
}

type backfill struct {
	at      time.Time
	sources uint64
}

func NewBackfills() *Backfills { return &Backfills{last: map[string]backfill{}} }

// Due says a backfill of ref runs now, and records it: once per interval, and at once when the
// source namespaces (sources, a digest of them and their labels) changed, since writes before the
// webhook was called there were missed.
func (b *Backfills) Due(ref string, sources uint64, now time.Time, interval time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	last, done := b.last[ref]
	if done && last.sources == sources && now.Sub(last.at) < interval {
		return false
	}
	b.last[ref] = backfill{at: now, sources: sources}
	return true
}

// Forget drops what is known of a replication that is gone.
func (b *Backfills) Forget(ref string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.last, ref)
}
