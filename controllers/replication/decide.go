package replication

import (
	"time"

	"github.com/robfig/cron/v3"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

// cronParser parses the standard 5-field schedules the webhook admits.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// timing is the pure decision of whether a pass writes now and when the next one is due.
type timing struct {
	// Run says a pass runs now.
	Run bool
	// Next is when the controller should look again (zero: only on a change).
	Next time.Time
	// Reason explains a pass that does not run, for status and logs.
	Reason string
}

// decideTiming applies the mode: Continuous always runs (and re-runs every drift interval);
// Scheduled runs when the schedule has come due since the last scheduled pass, successful or not,
// and retries a failed pass at retryAt (zero: none pending), never at every change; Manual runs
// once per new request annotation value, which also brings a Scheduled pass forward.
func decideTiming(spec *v1alpha1.ReplicationSpec, st *v1alpha1.ReplicationStatus, requested string, now, retryAt time.Time) timing {
	newRequest := requested != "" && requested != st.LastHandledSyncRequest
	switch spec.Mode {
	case v1alpha1.ModeScheduled:
		sched, err := cronParser.Parse(spec.Schedule)
		if err != nil {
			return timing{Reason: "invalid schedule: " + err.Error()}
		}
		last := st.LastScheduledTime
		if last == nil {
			last = st.LastSyncTime // written before lastScheduledTime existed
		}
		if last == nil || newRequest {
			return timing{Run: true, Next: sched.Next(now)}
		}
		due := sched.Next(last.Time)
		switch {
		case !now.Before(due):
			return timing{Run: true, Next: sched.Next(now)}
		case !retryAt.IsZero() && !now.Before(retryAt):
			return timing{Run: true, Next: due}
		case !retryAt.IsZero() && retryAt.Before(due):
			return timing{Next: retryAt, Reason: "the last scheduled pass failed: retrying with backoff"}
		}
		return timing{Next: due, Reason: "waiting for the next scheduled pass"}
	case v1alpha1.ModeManual:
		if newRequest {
			return timing{Run: true}
		}
		return timing{Reason: "waiting for a new " + keys.AnnotationSyncRequestedAt + " value"}
	default:
		return timing{Run: true, Next: now.Add(spec.Drift.Interval.Duration)}
	}
}

// retryBackoff is how long a failed Scheduled pass waits before its attempt-th retry: 10 s,
// doubling, at most 10 minutes.
func retryBackoff(attempt int) time.Duration {
	return min(10*time.Second<<min(max(attempt-1, 0), 10), 10*time.Minute)
}

// expectedInterval is how often a replication should pass, which the staleness alert compares
// against: the drift interval when Continuous, the schedule's period when Scheduled; a Manual
// replication (or an invalid schedule) has none.
func expectedInterval(spec *v1alpha1.ReplicationSpec, now time.Time) time.Duration {
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
