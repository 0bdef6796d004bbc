package v1alpha1

import (
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Defaults that the CRD schema also sets. Default() repeats them so that the controller can rely
// on them for objects admitted while the defaulting webhook was down or written before a default existed.
const (
	DefaultDriftInterval       = 5 * time.Minute
	DefaultHealthCheckInterval = 30 * time.Second
	DefaultQPS                 = 1000
	DefaultKubeconfigKey       = "kubeconfig"
)

// Default fills every unset field of the spec with its default.
func (s *ReplicationSpec) Default() {
	if s.Mode == "" {
		s.Mode = ModeContinuous
	}
	if s.DeletionPolicy == "" {
		s.DeletionPolicy = DeletionRetain
	}
	if s.ConflictPolicy == "" {
		s.ConflictPolicy = ConflictSkip
	}
	if s.Drift.Policy == "" {
		s.Drift.Policy = DriftCorrect
	}
	if s.Drift.Interval == nil {
		s.Drift.Interval = &metav1.Duration{Duration: DefaultDriftInterval}
	}
	if s.Workloads.Replicas == nil {
		r := intstr.FromString(ReplicasZero)
		s.Workloads.Replicas = &r
	}
	if s.Workloads.SuspendCronJobs == nil {
		t := true
		s.Workloads.SuspendCronJobs = &t
	}
	if s.Resources.Dependencies == "" {
		s.Resources.Dependencies = DependenciesFollow
	}
}

// Default fills every unset field of the spec with its default.
func (s *RemoteClusterSpec) Default() {
	if s.KubeconfigSecretRef.Key == "" {
		s.KubeconfigSecretRef.Key = DefaultKubeconfigKey
	}
	if s.QPS == 0 {
		s.QPS = DefaultQPS
	}
	if s.Burst == 0 {
		s.Burst = 2 * s.QPS
	}
	if s.HealthCheckInterval == nil {
		s.HealthCheckInterval = &metav1.Duration{Duration: DefaultHealthCheckInterval}
	}
}

// HasTarget reports whether the spec writes to the RemoteCluster named cluster.
func (s *ReplicationSpec) HasTarget(cluster string) bool {
	return slices.ContainsFunc(s.Targets, func(t Target) bool { return t.Cluster == cluster })
}

// Target is the target of the spec that writes to RemoteCluster cluster.
func (s *ReplicationSpec) Target(cluster string) (Target, bool) {
	for _, t := range s.Targets {
		if t.Cluster == cluster {
			return t, true
		}
	}
	return Target{}, false
}

// Target is the status of the target on RemoteCluster cluster, nil when there is none.
func (s *ReplicationStatus) Target(cluster string) *TargetStatus {
	for i := range s.Targets {
		if s.Targets[i].Cluster == cluster {
			return &s.Targets[i]
		}
	}
	return nil
}
