package scope

import (
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/mirror"
	"github.com/drsyncer/dr-syncer/pkg/transform"
)

func TestTransformOptions(t *testing.T) {
	fixed, preserve, no := intstr.FromInt32(2), intstr.FromString(v1alpha1.ReplicasPreserve), false
	tests := []struct {
		name        string
		workloads   v1alpha1.WorkloadSpec
		wantMode    transform.ReplicasMode
		wantFixed   int32
		wantSuspend bool
	}{
		{"defaults: zero, CronJobs suspended", v1alpha1.WorkloadSpec{}, transform.ReplicasZero, 0, true},
		{"fixed count", v1alpha1.WorkloadSpec{Replicas: &fixed}, transform.ReplicasFixed, 2, true},
		{"preserve, CronJobs running", v1alpha1.WorkloadSpec{Replicas: &preserve, SuspendCronJobs: &no}, transform.ReplicasPreserve, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := &v1alpha1.ReplicationSpec{Workloads: tt.workloads}
			target := v1alpha1.Target{Cluster: "dr", Transforms: &v1alpha1.Transforms{
				Patches: []v1alpha1.JSONPatch{{Kind: "Deployment", Op: "add", Path: "/spec/paused", Value: &apiextensionsv1.JSON{Raw: []byte(`true`)}}},
			}}
			o := TransformOptions(spec, target, "source", "", "prod", "shop-dr")
			if o.Replicas != tt.wantMode || o.FixedReplicas != tt.wantFixed || o.SuspendCronJobs != tt.wantSuspend {
				t.Fatalf("got replicas %s/%d suspend %v", o.Replicas, o.FixedReplicas, o.SuspendCronJobs)
			}
			if o.SourceCluster != "source" || o.Replication != "prod" || o.TargetNamespace != "shop-dr" {
				t.Fatalf("identity options wrong: %+v", o)
			}
			if len(o.Patches) != 1 || string(o.Patches[0].Value) != "true" || o.Patches[0].Kind != "Deployment" {
				t.Fatalf("patches not carried: %+v", o.Patches)
			}
		})
	}
}

func TestPolicy(t *testing.T) {
	spec := &v1alpha1.ReplicationSpec{ConflictPolicy: v1alpha1.ConflictAdopt}
	spec.Default()
	spec.Drift.Policy = v1alpha1.DriftReport
	spec.Drift.AllowedFieldManagers = []string{"hpa"}
	p := Policy(spec)
	if p.Drift != mirror.DriftReport || !p.Adopt || len(p.AllowedManagers) != 1 || p.LiveIsComplete {
		t.Fatalf("policy %+v", p)
	}
	spec.ConflictPolicy = v1alpha1.ConflictSkip
	if Policy(spec).Adopt {
		t.Fatal("conflictPolicy Skip adopts")
	}
}
