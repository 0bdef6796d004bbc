package integration

import (
	"context"
	"fmt"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

// uniqueName returns a fresh DNS label, so specs never share objects.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%06d", prefix, names.Add(1))
}

// names numbers the names of a run: a random suffix collided once in CI ("namespaces app-443073
// already exists"), with a hundred or so names drawn per run. The planes are new for every run.
var names atomic.Int64

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

// registerRemote creates RemoteCluster name whose kubeconfig Secret holds data (no Secret when nil).
func registerRemote(ctx context.Context, name string, data map[string][]byte, spec v1alpha1.RemoteClusterSpec) {
	GinkgoHelper()
	Expect(env.RegisterRemoteCluster(ctx, name, data, spec)).To(Succeed())
}

// kubeconfigData is a kubeconfig Secret's data.
func kubeconfigData(kc []byte) map[string][]byte {
	return map[string][]byte{v1alpha1.DefaultKubeconfigKey: kc}
}

// readyCondition is a RemoteCluster's Ready condition, nil while it has none.
func readyCondition(ctx context.Context, name string) *metav1.Condition {
	var rc v1alpha1.RemoteCluster
	if err := env.SourceClient.Get(ctx, client.ObjectKey{Name: name}, &rc); err != nil {
		return nil
	}
	return meta.FindStatusCondition(rc.Status.Conditions, v1alpha1.ConditionReady)
}
