package integration

import (
	"context"
	"fmt"
	"math/rand/v2"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

// uniqueName returns a fresh DNS label, so specs never share objects.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%06d", prefix, rand.IntN(1_000_000))
}

// createNamespace creates a source namespace with labels and annotations.
func createNamespace(ctx context.Context, prefix string, labels, annotations map[string]string) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: uniqueName(prefix), Labels: labels, Annotations: annotations}}
	ExpectWithOffset(1, env.SourceClient.Create(ctx, ns)).To(Succeed())
	return ns
}

func replication(ns, name string, targets ...v1alpha1.Target) *v1alpha1.Replication {
	return &v1alpha1.Replication{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.ReplicationSpec{Targets: targets},
	}
}

func clusterReplication(name string, targets ...v1alpha1.Target) *v1alpha1.ClusterReplication {
	return &v1alpha1.ClusterReplication{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.ClusterReplicationSpec{ReplicationSpec: v1alpha1.ReplicationSpec{Targets: targets}},
	}
}

func target(cluster, namespace string) v1alpha1.Target {
	return v1alpha1.Target{Cluster: cluster, Namespace: namespace}
}

var tenantLabels = map[string]string{"dr-tenant": "true"}
