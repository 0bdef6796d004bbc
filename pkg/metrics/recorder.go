package metrics

import "time"

// Recorder is how controllers record metrics: each series a call sets has the call that deletes
// it (ForgetReplication, ForgetTarget, ClusterGone), so that no alert fires for what is gone.
// The zero value records into the package's vectors.
type Recorder struct{}

// ClusterUp records a DR cluster's health probe; ClusterGone deletes its series.
func (Recorder) ClusterUp(cluster string, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	RemoteClusterUp.WithLabelValues(cluster).Set(v)
}

func (Recorder) ClusterGone(cluster string) { RemoteClusterUp.DeleteLabelValues(cluster) }

// Pass records how long a pass over a replication took.
func (Recorder) Pass(replication string, took time.Duration) {
	PassDuration.WithLabelValues(replication).Observe(took.Seconds())
}

// ExpectedInterval publishes how often a replication should pass (≤ 0: never, as Manual).
func (Recorder) ExpectedInterval(replication string, every time.Duration) {
	if every <= 0 {
		ExpectedInterval.DeleteLabelValues(replication)
		return
	}
	ExpectedInterval.WithLabelValues(replication).Set(every.Seconds())
}

// Action counts one per-object outcome of a pass.
func (Recorder) Action(replication, target, kind, action string) {
	MirrorActions.WithLabelValues(replication, target, kind, action).Inc()
}

// DriftSeries creates a kind's drift counters at zero, so that increase() sees the first drift
// after a restart.
func (Recorder) DriftSeries(replication, target, kind string) {
	DriftDetected.WithLabelValues(replication, target, kind)
	DriftCorrected.WithLabelValues(replication, target, kind)
}

// Drift counts a drifted copy, and whether it was corrected.
func (Recorder) Drift(replication, target, kind string, corrected bool) {
	DriftDetected.WithLabelValues(replication, target, kind).Inc()
	if corrected {
		DriftCorrected.WithLabelValues(replication, target, kind).Inc()
	}
}

// Lag records the time from a source change to its DR copy written.
func (Recorder) Lag(replication, target string, lag time.Duration) {
	PropagationLag.WithLabelValues(replication, target).Observe(lag.Seconds())
}

// Synced records a pass to a target without failures.
func (Recorder) Synced(replication, target string) {
	LastSyncTimestamp.WithLabelValues(replication, target).SetToCurrentTime()
}

// Objects records the objects per state after a pass to a target.
func (Recorder) Objects(replication, target string, byState map[string]int32) {
	for state, n := range byState {
		Objects.WithLabelValues(replication, target, state).Set(float64(n))
	}
}

// ForgetReplication deletes every series of a replication that is gone.
func (Recorder) ForgetReplication(replication string) { ForgetReplication(replication) }

// ForgetTarget deletes every series of a target a replication no longer has.
func (Recorder) ForgetTarget(replication, target string) { ForgetTarget(replication, target) }

// FailoverReady records whether a target's copies can run at failover; checked false deletes the
// series (the target could not be checked).
func (Recorder) FailoverReady(replication, target string, checked, ready bool) {
	if !checked {
		FailoverReady.DeleteLabelValues(replication, target)
		return
	}
	v := 0.0
	if ready {
		v = 1
	}
	FailoverReady.WithLabelValues(replication, target).Set(v)
}
