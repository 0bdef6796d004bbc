package v1alpha1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestReplicationSpecDefault(t *testing.T) {
	tests := []struct {
		name  string
		in    ReplicationSpec
		check func(t *testing.T, s ReplicationSpec)
	}{
		{"empty gets every default", ReplicationSpec{}, func(t *testing.T, s ReplicationSpec) {
			if s.Mode != ModeContinuous || s.DeletionPolicy != DeletionRetain || s.ConflictPolicy != ConflictSkip ||
				s.Drift.Policy != DriftCorrect || s.Drift.Interval.Duration != 5*time.Minute ||
				s.Workloads.Replicas.StrVal != ReplicasZero || !*s.Workloads.SuspendCronJobs {
				t.Fatalf("defaults not applied: %+v", s)
			}
		}},
		{"set values are kept", ReplicationSpec{
			Mode: ModeManual, DeletionPolicy: DeletionDelete, ConflictPolicy: ConflictAdopt,
			Drift:     DriftSpec{Policy: DriftReport, Interval: &metav1.Duration{Duration: time.Minute}},
			Workloads: WorkloadSpec{Replicas: new(intstr.FromInt32(2)), SuspendCronJobs: new(false)},
		}, func(t *testing.T, s ReplicationSpec) {
			if s.Mode != ModeManual || s.DeletionPolicy != DeletionDelete || s.ConflictPolicy != ConflictAdopt ||
				s.Drift.Policy != DriftReport || s.Drift.Interval.Duration != time.Minute ||
				s.Workloads.Replicas.IntVal != 2 || *s.Workloads.SuspendCronJobs {
				t.Fatalf("set values overwritten: %+v", s)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.in
			s.Default()
			tt.check(t, s)
		})
	}
}

func TestRemoteClusterSpecDefault(t *testing.T) {
	tests := []struct {
		name             string
		in               RemoteClusterSpec
		wantQPS, wantBur int32
		wantKey          string
	}{
		{"empty", RemoteClusterSpec{}, 1000, 2000, "kubeconfig"},
		{"burst follows qps", RemoteClusterSpec{QPS: 300}, 300, 600, "kubeconfig"},
		{"set values kept", RemoteClusterSpec{QPS: 5, Burst: 7, KubeconfigSecretRef: SecretKeyRef{Key: "config"}}, 5, 7, "config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.in
			s.Default()
			if s.QPS != tt.wantQPS || s.Burst != tt.wantBur || s.KubeconfigSecretRef.Key != tt.wantKey || s.HealthCheckInterval.Duration != 30*time.Second {
				t.Fatalf("got %+v", s)
			}
		})
	}
}
