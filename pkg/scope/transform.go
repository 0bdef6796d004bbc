package scope

import (
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/mirror"
	"github.com/drsyncer/dr-syncer/pkg/transform"
)

// TransformOptions are the transform settings of one target of a defaulted replication spec:
// what the controller writes, and what `kubectl drsyncer diff` compares with.
func TransformOptions(spec *v1alpha1.ReplicationSpec, t v1alpha1.Target, sourceCluster, namespace, replication, destNS string) transform.Options {
	o := transform.Options{
		SourceCluster: sourceCluster, Replication: replication, Owner: Owner(namespace, replication), TargetNamespace: destNS,
		Replicas: transform.ReplicasZero, SuspendCronJobs: spec.Workloads.SuspendCronJobs == nil || *spec.Workloads.SuspendCronJobs,
	}
	switch rep := spec.Workloads.Replicas; {
	case rep == nil:
	case rep.Type == intstr.Int:
		o.Replicas, o.FixedReplicas = transform.ReplicasFixed, rep.IntVal
	case rep.StrVal == v1alpha1.ReplicasPreserve:
		o.Replicas = transform.ReplicasPreserve
	}
	if tr := t.Transforms; tr != nil {
		o.PreserveNodePorts, o.KeepTrackingMetadata = tr.PreserveNodePorts, tr.KeepTrackingMetadata
		o.StorageClasses, o.AddLabels, o.AddAnnotations = tr.StorageClasses, tr.AddLabels, tr.AddAnnotations
		o.RemoveLabels, o.RemoveAnnotations = tr.RemoveLabels, tr.RemoveAnnotations
		for _, ir := range tr.ImageRegistries {
			o.ImageRegistries = append(o.ImageRegistries, transform.RegistryRewrite{From: ir.From, To: ir.To})
		}
		for _, p := range tr.Patches {
			tp := transform.Patch{Kind: p.Kind, Op: p.Op, Path: p.Path}
			if p.Value != nil {
				tp.Value = p.Value.Raw
			}
			o.Patches = append(o.Patches, tp)
		}
	}
	return o
}

// Owner names a replication in the drsyncer.io/owner annotation of its copies:
// "ClusterReplication/<name>", or "Replication/<namespace>/<name>" for a namespaced one.
func Owner(namespace, name string) string {
	if namespace == "" {
		return "ClusterReplication/" + name
	}
	return "Replication/" + namespace + "/" + name
}

// Policy is the mirror engine's policy for a replication's spec.
func Policy(spec *v1alpha1.ReplicationSpec) mirror.Policy {
	return mirror.Policy{Drift: mirror.DriftPolicy(spec.Drift.Policy), Adopt: spec.ConflictPolicy == v1alpha1.ConflictAdopt,
		AllowedManagers: spec.Drift.AllowedFieldManagers}
}
