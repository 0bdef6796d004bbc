package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/test/harness"
)

// TestMemoryIsFreed creates, syncs and deletes 200 replications, each mirroring the same 100
// ConfigMaps into a DR namespace of its own, whose copies are then deleted on DR (as an operator
// decommissioning them would). What the manager kept for each must go with it: its live heap after
// a forced GC ends within 10 % of where it was after the first few. To look for what grows, set
// DRSYNCER_PROFILE_DIR (heap profiles and goroutines at both ends) and DRSYNCER_MEMORY_ROUNDS; run
// with GODEBUG=memprofilerate=2048 for a profile fine enough to see kilobytes.
func TestMemoryIsFreed(t *testing.T) {
	const warmup, copies = 30, 100
	rounds := 200
	if n, err := strconv.Atoi(os.Getenv("DRSYNCER_MEMORY_ROUNDS")); err == nil {
		rounds = n
	}
	ctx := context.Background()
	logs := &syncBuffer{}
	env, mgr, err := harness.StartWithProcess(ctx, t.TempDir(), logs)
	if err != nil {
		t.Fatalf("%v\nlogs:\n%s", err, logs)
	}
	defer env.Stop()
	defer mgr.Stop()

	must(t, env.SourceClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "mem", Labels: map[string]string{"memory": "test"}}}))
	cfg := rest.CopyConfig(env.SourceConfig)
	cfg.QPS, cfg.Burst = 2000, 4000
	src, err := client.New(cfg, client.Options{})
	must(t, err)
	// Labeled as the webhook would once the namespace is covered; created before, so labeled here.
	parallel(t, copies, func(i int) error {
		return src.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "mem", Name: fmt.Sprintf("cm-%03d", i),
			Labels: map[string]string{keys.LabelReplication: "mem-000"}}, Data: map[string]string{"v": strings.Repeat("x", 200)}})
	})
	heap := func() float64 {
		t.Helper()
		time.Sleep(2 * time.Second) // the last deletion's pass and its events
		live, err := mgr.LiveHeap()
		must(t, err)
		return live
	}
	round := func(i int) {
		t.Helper()
		name, drNS := fmt.Sprintf("mem-%03d", i), fmt.Sprintf("mem-%03d", i)
		cr := &v1alpha1.ClusterReplication{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.ClusterReplicationSpec{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"memory": "test"}},
			ReplicationSpec:   v1alpha1.ReplicationSpec{Targets: []v1alpha1.Target{{Cluster: "dr", Namespace: drNS}}}}}
		must(t, env.SourceClient.Create(ctx, cr))
		err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			var l metav1.PartialObjectMetadataList
			l.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
			if err := env.DRClient.List(ctx, &l, client.InNamespace(drNS)); err != nil {
				return false, nil
			}
			return len(l.Items) == copies, nil
		})
		if err != nil {
			t.Fatalf("replication %s: not all %d copies on DR: %v\nlogs:\n%s", name, copies, err, logs)
		}
		must(t, env.SourceClient.Delete(ctx, cr))
		must(t, env.DRClient.DeleteAllOf(ctx, &corev1.ConfigMap{}, client.InNamespace(drNS)))
	}
	for i := range warmup {
		round(i)
	}
	start := heap()
	if dir := os.Getenv("DRSYNCER_PROFILE_DIR"); dir != "" {
		must(t, mgr.SaveHeapProfile(filepath.Join(dir, "heap-start.pprof")))
		defer func() {
			must(t, mgr.SaveHeapProfile(filepath.Join(dir, "heap-end.pprof")))
			must(t, mgr.SaveGoroutines(filepath.Join(dir, "goroutines-end.txt")))
		}()
	}
	for i := warmup; i < warmup+rounds; i++ {
		round(i)
	}
	end := heap()
	t.Logf("live heap after %d replications: %.1f MiB, after %d more: %.1f MiB (%+.1f %%)", warmup, start/(1<<20), rounds, end/(1<<20), 100*(end/start-1))
	if end > 1.1*start {
		t.Fatalf("the manager's live heap grew from %.1f to %.1f MiB over %d replications created, synced and deleted", start/(1<<20), end/(1<<20), rounds)
	}
}
