// Package metrics declares dr-syncer's Prometheus metrics, registered with controller-runtime's
// registry and served on the manager's metrics endpoint. Labels are bounded: replication, target,
// kind, action — never object names. Controllers record through a Recorder, whose every record
// call has the call that deletes its series; Changes times the propagation lag.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	// RemoteClusterUp is 1 while a DR cluster answers its health probe, else 0.
	RemoteClusterUp = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "drsyncer_remotecluster_up", Help: "1 when the DR cluster answers its health probe, 0 otherwise.",
	}, []string{"cluster"})

	// MirrorActions counts per-object outcomes of passes: create, update, correct, unchanged, conflict, delete, failed...
	MirrorActions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "drsyncer_mirror_actions_total", Help: "Per-object outcomes of mirroring passes, by action.",
	}, []string{"replication", "target", "kind", "action"})

	// DriftDetected counts DR copies found different from their desired state, or deleted on DR.
	DriftDetected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "drsyncer_drift_detected_total", Help: "DR copies found changed or deleted on the DR cluster.",
	}, []string{"replication", "target", "kind"})

	// DriftCorrected counts drifted DR copies re-applied.
	DriftCorrected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "drsyncer_drift_corrected_total", Help: "Drifted DR copies re-applied to their desired state.",
	}, []string{"replication", "target", "kind"})

	// PropagationLag is the time from a source change (its last write) to the DR copy applied.
	PropagationLag = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "drsyncer_mirror_propagation_lag_seconds", Help: "Time from a source object's change to its DR copy being applied.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
	}, []string{"replication", "target"})

	// LastSyncTimestamp is when the last pass to a target succeeded (unix seconds).
	LastSyncTimestamp = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "drsyncer_replication_last_sync_timestamp_seconds", Help: "Unix time of the last successful pass to a target.",
	}, []string{"replication", "target"})

	// Objects is the number of objects per state after the last pass: synced, failed, drifted, conflicts.
	Objects = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "drsyncer_replication_objects", Help: "Objects per state after the last pass to a target.",
	}, []string{"replication", "target", "state"})

	// ExpectedInterval is how often a replication is expected to pass: the drift interval when
	// Continuous, the schedule's period when Scheduled; absent for Manual, which is never stale.
	ExpectedInterval = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "drsyncer_replication_expected_interval_seconds", Help: "How often a replication is expected to pass (absent for Manual ones).",
	}, []string{"replication"})

	// FailoverReady is 1 while every copy on a target has on DR what it needs to run, else 0;
	// absent while the target cannot be checked.
	FailoverReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "drsyncer_failover_ready", Help: "1 when every DR copy on a target has on the DR cluster what it needs to run, 0 otherwise.",
	}, []string{"replication", "target"})

	// PassDuration is how long a pass over one replication takes.
	PassDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "drsyncer_replication_pass_duration_seconds", Help: "Duration of a pass over one replication and all its targets.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}, []string{"replication"})
)

// All are dr-syncer's own metrics; the chart's alert rules are tested against their names and labels.
var All = []prometheus.Collector{RemoteClusterUp, MirrorActions, DriftDetected, DriftCorrected,
	PropagationLag, LastSyncTimestamp, Objects, PassDuration, ExpectedInterval, FailoverReady}

// byReplication are the metrics with a replication label; byTarget those with a target label too.
var (
	byReplication = []*prometheus.MetricVec{MirrorActions.MetricVec, DriftDetected.MetricVec, DriftCorrected.MetricVec,
		PropagationLag.MetricVec, LastSyncTimestamp.MetricVec, Objects.MetricVec, PassDuration.MetricVec, ExpectedInterval.MetricVec,
		FailoverReady.MetricVec}
	byTarget = []*prometheus.MetricVec{MirrorActions.MetricVec, DriftDetected.MetricVec, DriftCorrected.MetricVec,
		PropagationLag.MetricVec, LastSyncTimestamp.MetricVec, Objects.MetricVec, FailoverReady.MetricVec}
)

// ForgetReplication deletes every series of a replication that is gone, so that no alert fires
// for it from then on.
func ForgetReplication(replication string) {
	for _, v := range byReplication {
		v.DeletePartialMatch(prometheus.Labels{"replication": replication})
	}
}

// ForgetTarget deletes every series of a target a replication no longer has.
func ForgetTarget(replication, target string) {
	for _, v := range byTarget {
		v.DeletePartialMatch(prometheus.Labels{"replication": replication, "target": target})
	}
}

func init() {
	crmetrics.Registry.MustRegister(All...)
}
