package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/test/harness"
)

type bench struct {
	env       *harness.Env
	mgr       *harness.Process
	rep       *report
	emptyHeap float64
	rounds    []syncRound
}

func (b *bench) waitReady(ctx context.Context) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		v, err := b.metric("drsyncer_remotecluster_up", `cluster="dr"`)
		return err == nil && v == 1, nil
	})
}

// metric sums the samples of a metric of the manager whose labels contain every filter.
func (b *bench) metric(name string, filters ...string) (float64, error) {
	text, err := b.mgr.Metrics()
	if err != nil {
		return 0, err
	}
	return harness.SumMetric(text, name, filters...), nil
}

// drWrites counts the mutating requests the DR kube-apiserver has served for the kinds dr-syncer
// writes (the API server's own lease renewals are not dr-syncer's).
func (b *bench) drWrites(ctx context.Context) (float64, error) {
	return harness.WritesServed(ctx, b.env.DRConfig, "configmaps", "deployments", "namespaces")
}

// heap is the manager's live heap: bytes allocated right after a forced garbage collection.
// (go_memstats_heap_inuse_bytes also counts free space inside spans, which depends on GC timing.)
func (b *bench) heap() (float64, error) {
	time.Sleep(time.Second) // let passes in flight finish
	if err := b.mgr.GC(); err != nil {
		return 0, err
	}
	return b.metric("go_memstats_heap_alloc_bytes")
}

func (b *bench) measureEmptyHeap(ctx context.Context) error {
	time.Sleep(2 * time.Second)
	bare, err := b.heap()
	if err != nil {
		return err
	}
	b.rep.add(figure{Name: "heap of a bare manager", Value: bare / (1 << 20), Unit: "MiB", Note: "no RemoteCluster caches, no replication"})
	// "Empty" is a manager that mirrors nothing yet but is set up to: a replication has run a pass,
	// so the source and DR caches of every default kind exist. What it holds beyond that is per copy.
	if _, err := b.optIn(ctx, "idle", nil, v1alpha1.Target{Cluster: "dr", Namespace: "{{.Namespace}}-dr"}); err != nil {
		return err
	}
	if err := b.namespace(ctx, b.env.SourceClient, "idle", nil, map[string]string{keys.AnnotationReplicate: "idle"}); err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var cr v1alpha1.ClusterReplication
		if err := b.env.SourceClient.Get(ctx, client.ObjectKey{Name: "idle"}, &cr); err != nil {
			return false, nil
		}
		return len(cr.Status.Targets) == 1 && cr.Status.Targets[0].LastSyncTime != nil, nil
	})
	if err != nil {
		return fmt.Errorf("the idle replication did not finish a pass: %w", err)
	}
	time.Sleep(2 * time.Second)
	if b.emptyHeap, err = b.heap(); err != nil {
		return err
	}
	b.rep.add(figure{Name: "heap of an empty manager", Value: b.emptyHeap / (1 << 20), Unit: "MiB", Note: "set up, nothing mirrored"})
	return nil
}

func (b *bench) optIn(ctx context.Context, name string, labels map[string]string, targets ...v1alpha1.Target) (*v1alpha1.ClusterReplication, error) {
	cr := &v1alpha1.ClusterReplication{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.ClusterReplicationSpec{
		ReplicationSpec: v1alpha1.ReplicationSpec{Targets: targets, DeletionPolicy: v1alpha1.DeletionDelete}}}
	if labels != nil {
		cr.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: labels}
	}
	return cr, b.env.SourceClient.Create(ctx, cr)
}

func (b *bench) namespace(ctx context.Context, c client.Client, name string, labels, annotations map[string]string) error {
	return c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annotations}})
}

// objects returns n ConfigMaps of about 1 KiB and d Deployments for a namespace.
func objects(ns string, n, d int) []client.Object {
	payload := strings.Repeat("x", 1000)
	out := make([]client.Object, 0, n+d)
	for i := range n {
		out = append(out, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("cm-%05d", i)},
			Data: map[string]string{"payload": payload, "seq": "0"}})
	}
	for i := range d {
		replicas := int32(2)
		name := fmt.Sprintf("deploy-%04d", i)
		out = append(out, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example.com/app:1"}}}}}})
	}
	return out
}

// parallel runs write on every object with the given number of concurrent writers and returns
// the first error.
func parallel(objs []client.Object, writers int, write func(client.Object) error) error {
	ch := make(chan client.Object)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range writers {
		wg.Go(func() {
			for o := range ch {
				if err := write(o); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, o := range objs {
		ch <- o
	}
	close(ch)
	wg.Wait()
	return firstErr
}

// create writes objects with plain creates.
func create(ctx context.Context, c client.Client, objs []client.Object, writers int) error {
	return parallel(objs, writers, func(o client.Object) error { return c.Create(ctx, o) })
}

// apply server-side applies objects, as dr-syncer writes.
func apply(ctx context.Context, c client.Client, objs []client.Object, writers int) error {
	return parallel(objs, writers, func(o client.Object) error {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return err
		}
		obj := &unstructured.Unstructured{Object: u}
		gvk, err := apiutil.GVKForObject(o, scheme.Scheme)
		if err != nil {
			return err
		}
		obj.SetGroupVersionKind(gvk)
		unstructured.RemoveNestedField(obj.Object, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(obj.Object, "status")
		return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner("bench"), client.ForceOwnership)
	})
}

// writerClient is a client with enough QPS for concurrent writers (client-go defaults to 5).
func writerClient(cfg *rest.Config) (client.Client, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 5000, 10000
	return client.New(cfg, client.Options{})
}

// countOnDR counts ConfigMaps and Deployments in DR namespaces.
func (b *bench) countOnDR(ctx context.Context, namespaces ...string) (int, error) {
	total := 0
	for _, ns := range namespaces {
		cms := &metav1.PartialObjectMetadataList{}
		cms.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
		if err := b.env.DRClient.List(ctx, cms, client.InNamespace(ns)); err != nil {
			return 0, err
		}
		deps := &metav1.PartialObjectMetadataList{}
		deps.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("DeploymentList"))
		if err := b.env.DRClient.List(ctx, deps, client.InNamespace(ns)); err != nil {
			return 0, err
		}
		total += len(cms.Items) + len(deps.Items)
	}
	return total, nil
}

func (b *bench) waitOnDR(ctx context.Context, want int, timeout time.Duration, namespaces ...string) error {
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		n, err := b.countOnDR(ctx, namespaces...)
		return err == nil && n >= want, nil
	})
}

// copiesWatch counts the ConfigMaps and Deployments dr-syncer creates on DR from now on, through
// watches: polling lists of thousands of objects would load the very API server being measured.
type copiesWatch struct {
	mu    sync.Mutex
	added int
	stop  func()
}

// watchCopies counts the ConfigMap and Deployment copies added in a namespace ("" for all) from
// now on.
func (b *bench) watchCopies(ctx context.Context, namespace string) (*copiesWatch, error) {
	// Metadata only, as protobuf: the observer should cost the measured server as little as it can.
	cfg := rest.CopyConfig(b.env.DRConfig)
	cfg.DisableCompression = true
	mc, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	cw := &copiesWatch{}
	var watches []watch.Interface
	cw.stop = func() {
		for _, w := range watches {
			w.Stop()
		}
	}
	selector := keys.LabelManagedBy + "=" + keys.ManagedByValue
	for _, gvr := range []schema.GroupVersionResource{corev1.SchemeGroupVersion.WithResource("configmaps"), appsv1.SchemeGroupVersion.WithResource("deployments")} {
		// From the collection's current version: copies that exist already are not counted.
		list, err := mc.Resource(gvr).Namespace(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector, Limit: 1})
		if err != nil {
			cw.stop()
			return nil, err
		}
		w, err := mc.Resource(gvr).Namespace(namespace).Watch(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: list.GetResourceVersion()})
		if err != nil {
			cw.stop()
			return nil, err
		}
		watches = append(watches, w)
		go func() {
			for ev := range w.ResultChan() {
				if ev.Type == watch.Added {
					cw.mu.Lock()
					cw.added++
					cw.mu.Unlock()
				}
			}
		}()
	}
	return cw, nil
}

// wait returns once want copies were added, then stops the watches.
func (cw *copiesWatch) wait(ctx context.Context, want int, timeout time.Duration) error {
	defer cw.stop()
	return wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		cw.mu.Lock()
		defer cw.mu.Unlock()
		return cw.added >= want, nil
	})
}

// syncRound is one measurement of the initial sync against its baseline.
type syncRound struct {
	mirrored, baseline, ssa, sourceWrites, managerCPU float64
}

func (r syncRound) ratio() float64 { return r.mirrored / r.baseline }

// initialSync is the first round: its replication "bench" and its 2,200 copies stay for the
// unchanged-pass and memory figures.
func (b *bench) initialSync(ctx context.Context) error {
	r, err := b.syncRound(ctx, "bench", true)
	if err != nil {
		return err
	}
	b.rounds = append(b.rounds, r)
	b.rep.add(figure{Name: "source writes through the labeling webhook", Value: r.sourceWrites, Unit: "obj/s"})
	b.rep.add(figure{Name: "manager CPU during the initial sync", Value: r.managerCPU, Unit: "% core"})
	b.rep.add(figure{Name: "reference: 16 plain clients server-side applying", Value: r.ssa, Unit: "obj/s", Note: "what SSA costs the DR apiserver"})
	return nil
}

// moreSyncRounds measures four more rounds and reports the medians: one round varies by ±15 % on
// a machine this busy, and a ratio of two such figures by more.
func (b *bench) moreSyncRounds(ctx context.Context) error {
	for _, name := range []string{"bench-2", "bench-3", "bench-4", "bench-5"} {
		r, err := b.syncRound(ctx, name, false)
		if err != nil {
			return err
		}
		b.rounds = append(b.rounds, r)
	}
	med := func(f func(syncRound) float64) (float64, string) {
		var v []float64
		var all []string
		for _, r := range b.rounds {
			v = append(v, f(r))
			all = append(all, strconv.FormatFloat(f(r), 'f', 2, 64))
		}
		slices.Sort(v)
		return v[len(v)/2], strings.Join(all, ", ")
	}
	m, _ := med(func(r syncRound) float64 { return r.mirrored })
	bl, _ := med(func(r syncRound) float64 { return r.baseline })
	ratio, all := med(syncRound.ratio)
	b.rep.add(figure{Name: "initial sync: 2,000 ConfigMaps + 200 Deployments", Value: m, Unit: "obj/s", Note: "median of 5, from resume to all on DR"})
	b.rep.add(figure{Name: "baseline: 16 plain clients creating on DR", Value: bl, Unit: "obj/s", Note: "median of 5"})
	b.rep.add(figure{Name: "initial sync / baseline", Value: ratio, Unit: "ratio", Target: ">= 0.7", Met: atLeast(ratio, 0.7), Note: "median; rounds: " + all})
	return nil
}

// syncRound creates 2,000 ConfigMaps and 200 Deployments in a namespace opted in to a suspended
// replication (the labeling webhook labels them), resumes it and times until every copy is on DR;
// then 16 plain clients create the same objects directly on DR (and, with ssa, apply them).
func (b *bench) syncRound(ctx context.Context, name string, ssa bool) (syncRound, error) {
	const cms, deps = 2000, 200
	var r syncRound
	cr, err := b.optIn(ctx, name, nil, v1alpha1.Target{Cluster: "dr", Namespace: "{{.Namespace}}-dr"})
	if err != nil {
		return r, err
	}
	if err := b.setSuspend(ctx, cr.Name, true); err != nil {
		return r, err
	}
	if err := b.namespace(ctx, b.env.SourceClient, name, nil, map[string]string{keys.AnnotationReplicate: name}); err != nil {
		return r, err
	}
	src, err := writerClient(b.env.SourceConfig)
	if err != nil {
		return r, err
	}
	start := time.Now()
	if err := create(ctx, src, objects(name, cms, deps), 16); err != nil {
		return r, err
	}
	r.sourceWrites = float64(cms+deps) / time.Since(start).Seconds()
	cpu0, err := b.metric("process_cpu_seconds_total")
	if err != nil {
		return r, err
	}
	if dir := os.Getenv("BENCH_PROFILE_DIR"); dir != "" && ssa {
		go func() { _ = b.mgr.SaveCPUProfile(filepath.Join(dir, "cpu-initial-sync.pprof"), 3) }()
	}
	copies, err := b.watchCopies(ctx, name+"-dr")
	if err != nil {
		return r, err
	}
	start = time.Now()
	if err := b.setSuspend(ctx, cr.Name, false); err != nil {
		return r, err
	}
	if err := copies.wait(ctx, cms+deps, 5*time.Minute); err != nil {
		return r, fmt.Errorf("initial sync did not finish: %w", err)
	}
	elapsed := time.Since(start)
	r.mirrored = float64(cms+deps) / elapsed.Seconds()
	cpu1, err := b.metric("process_cpu_seconds_total")
	if err != nil {
		return r, err
	}
	r.managerCPU = 100 * (cpu1 - cpu0) / elapsed.Seconds()

	dr, err := writerClient(b.env.DRConfig)
	if err != nil {
		return r, err
	}
	if err := b.namespace(ctx, b.env.DRClient, name+"-baseline", nil, nil); err != nil {
		return r, err
	}
	start = time.Now()
	if err := create(ctx, dr, objects(name+"-baseline", cms, deps), 16); err != nil {
		return r, err
	}
	r.baseline = float64(cms+deps) / time.Since(start).Seconds()
	if !ssa {
		return r, nil
	}
	// What server-side apply itself costs the DR apiserver, with the same 16 clients.
	if err := b.namespace(ctx, b.env.DRClient, name+"-ssa", nil, nil); err != nil {
		return r, err
	}
	start = time.Now()
	if err := apply(ctx, dr, objects(name+"-ssa", cms, deps), 16); err != nil {
		return r, err
	}
	r.ssa = float64(cms+deps) / time.Since(start).Seconds()
	return r, nil
}

func (b *bench) setSuspend(ctx context.Context, name string, suspend bool) error {
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var cr v1alpha1.ClusterReplication
		if err := b.env.SourceClient.Get(ctx, client.ObjectKey{Name: name}, &cr); err != nil {
			return false, nil
		}
		cr.Spec.Suspend = suspend
		return b.env.SourceClient.Update(ctx, &cr) == nil, nil
	})
}

func (b *bench) unchangedPass(ctx context.Context) error {
	time.Sleep(2 * time.Second) // let event-driven passes triggered by the initial sync settle
	before, err := b.drWrites(ctx)
	if err != nil {
		return err
	}
	unchanged0, err := b.metric("drsyncer_mirror_actions_total", `replication="bench"`, `action="Unchanged"`)
	if err != nil {
		return err
	}
	var cr v1alpha1.ClusterReplication
	if err := b.env.SourceClient.Get(ctx, client.ObjectKey{Name: "bench"}, &cr); err != nil {
		return err
	}
	cr.Annotations = map[string]string{"bench/touch": time.Now().String()}
	start := time.Now()
	if err := b.env.SourceClient.Update(ctx, &cr); err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		v, err := b.metric("drsyncer_mirror_actions_total", `replication="bench"`, `action="Unchanged"`)
		return err == nil && v >= unchanged0+2200, nil
	})
	if err != nil {
		return fmt.Errorf("the forced pass did not finish: %w", err)
	}
	d := time.Since(start)
	after, err := b.drWrites(ctx)
	if err != nil {
		return err
	}
	writes := after - before
	b.rep.add(figure{Name: "unchanged pass over 2,200 objects: DR writes", Value: writes, Unit: "writes", Target: "0", Met: atMost(writes, 0),
		Note: "from the DR apiserver's apiserver_request_total"})
	b.rep.add(figure{Name: "unchanged pass over 2,200 objects: duration", Value: float64(d.Milliseconds()), Unit: "ms"})
	return nil
}

func (b *bench) memory(context.Context) error {
	h, err := b.heap()
	if err != nil {
		return err
	}
	if dir := os.Getenv("BENCH_PROFILE_DIR"); dir != "" {
		if err := b.mgr.SaveHeapProfile(filepath.Join(dir, "heap-2200.pprof")); err != nil {
			return err
		}
	}
	per := (h - b.emptyHeap) / 2200
	b.rep.add(figure{Name: "heap per mirrored copy, N = 2,200 (1 target)", Value: per, Unit: "B", Target: "<= 4096", Met: atMost(per, 4096)})
	return nil
}

// propagationLag updates 50 mirrored ConfigMaps round-robin at a rate and measures, per update,
// the time from the source write's acknowledgement to a DR watch seeing that value or a later one.
func (b *bench) propagationLag(ctx context.Context) error {
	if _, err := b.optIn(ctx, "lag", nil, v1alpha1.Target{Cluster: "dr", Namespace: "{{.Namespace}}-dr"}); err != nil {
		return err
	}
	if err := b.namespace(ctx, b.env.SourceClient, "lag", nil, map[string]string{keys.AnnotationReplicate: "lag"}); err != nil {
		return err
	}
	src, err := writerClient(b.env.SourceConfig)
	if err != nil {
		return err
	}
	const n = 50
	if err := create(ctx, src, objects("lag", n, 0), 8); err != nil {
		return err
	}
	if err := b.waitOnDR(ctx, n, time.Minute, "lag-dr"); err != nil {
		return err
	}
	for _, rate := range []int{20, 500} {
		lags, err := b.lagRun(ctx, src, rate, 500, n)
		if err != nil {
			return err
		}
		p50, p95, p99 := pct(lags, 50), pct(lags, 95), pct(lags, 99)
		b.rep.add(figure{Name: fmt.Sprintf("propagation lag at %d/s: p50", rate), Value: p50, Unit: "ms"})
		b.rep.add(figure{Name: fmt.Sprintf("propagation lag at %d/s: p95", rate), Value: p95, Unit: "ms"})
		f := figure{Name: fmt.Sprintf("propagation lag at %d/s: p99", rate), Value: p99, Unit: "ms"}
		if rate == 20 {
			f.Target, f.Met = "<= 100", atMost(p99, 100)
		}
		b.rep.add(f)
	}
	return nil
}

func (b *bench) lagRun(ctx context.Context, src client.Client, rate, updates, n int) ([]float64, error) {
	cs, err := kubernetes.NewForConfig(b.env.DRConfig)
	if err != nil {
		return nil, err
	}
	w, err := cs.CoreV1().ConfigMaps("lag-dr").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	base := time.Now().UnixNano() % 1_000_000_000 * 1000 // unique per run
	var mu sync.Mutex
	acked := make([]time.Time, updates)
	seen := make([]time.Time, updates)
	done := make(chan struct{})
	go func() {
		defer close(done)
		remaining := updates
		for ev := range w.ResultChan() {
			if ev.Type != watch.Modified {
				continue
			}
			cm := ev.Object.(*corev1.ConfigMap)
			seq, err := strconv.ParseInt(cm.Data["seq"], 10, 64)
			if err != nil || seq < base {
				continue
			}
			now := time.Now()
			i := int(seq - base)
			mu.Lock()
			// Every update of this ConfigMap up to i is now visible on DR.
			for j := i; j >= 0; j -= n {
				if j < updates && seen[j].IsZero() {
					seen[j] = now
					remaining--
				}
			}
			mu.Unlock()
			if remaining == 0 {
				return
			}
		}
	}()
	interval := time.Second / time.Duration(rate)
	next := time.Now()
	for i := range updates {
		time.Sleep(time.Until(next))
		next = next.Add(interval)
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "lag", Name: fmt.Sprintf("cm-%05d", i%n)}}
		patch := client.RawPatch("application/merge-patch+json", fmt.Appendf(nil, `{"data":{"seq":"%d"}}`, base+int64(i)))
		if err := src.Patch(ctx, cm, patch); err != nil {
			return nil, err
		}
		mu.Lock()
		acked[i] = time.Now()
		mu.Unlock()
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("not every update reached DR within 60 s")
	}
	lags := make([]float64, 0, updates)
	for i := range updates {
		lags = append(lags, float64(max(seen[i].Sub(acked[i]), 0).Microseconds())/1000)
	}
	return lags, nil
}

// driftLag edits DR copies one at a time and measures until the watch sees each corrected.
func (b *bench) driftLag(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(b.env.DRConfig)
	if err != nil {
		return err
	}
	var lags []float64
	for i := range 200 {
		name := fmt.Sprintf("cm-%05d", i%50)
		w, err := cs.CoreV1().ConfigMaps("lag-dr").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
		if err != nil {
			return err
		}
		patch := fmt.Appendf(nil, `{"data":{"payload":"edited-on-dr-%d"}}`, i)
		if _, err := cs.CoreV1().ConfigMaps("lag-dr").Patch(ctx, name, "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
			w.Stop()
			return err
		}
		edited := time.Now()
		corrected := false
		timeout := time.After(30 * time.Second)
		for !corrected {
			select {
			case ev := <-w.ResultChan():
				if cm, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type == watch.Modified && !strings.HasPrefix(cm.Data["payload"], "edited-on-dr") {
					lags = append(lags, float64(time.Since(edited).Microseconds())/1000)
					corrected = true
				}
			case <-timeout:
				w.Stop()
				return fmt.Errorf("drift on %s not corrected within 30 s", name)
			}
		}
		w.Stop()
	}
	b.rep.add(figure{Name: "drift correction lag: p50", Value: pct(lags, 50), Unit: "ms"})
	p99 := pct(lags, 99)
	b.rep.add(figure{Name: "drift correction lag: p99", Value: p99, Unit: "ms", Target: "<= 200", Met: atMost(p99, 200)})
	return nil
}

// scale mirrors 10,000 ConfigMaps across 100 namespaces to two targets.
func (b *bench) scale(ctx context.Context) error {
	kc, err := b.env.Kubeconfig(b.env.DR, "dr2")
	if err != nil {
		return err
	}
	if err := b.env.RegisterRemoteCluster(ctx, "dr2", map[string][]byte{v1alpha1.DefaultKubeconfigKey: kc},
		v1alpha1.RemoteClusterSpec{QPS: 500, Burst: 1000}); err != nil {
		return err
	}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		v, err := b.metric("drsyncer_remotecluster_up", `cluster="dr2"`)
		return err == nil && v == 1, nil
	}); err != nil {
		return err
	}
	sel := map[string]string{"bench": "scale"}
	if _, err := b.optIn(ctx, "scale", sel, v1alpha1.Target{Cluster: "dr", Namespace: "{{.Namespace}}-a"}, v1alpha1.Target{Cluster: "dr2", Namespace: "{{.Namespace}}-b"}); err != nil {
		return err
	}
	src, err := writerClient(b.env.SourceConfig)
	if err != nil {
		return err
	}
	var all []client.Object
	var drNamespaces []string
	copies, err := b.watchCopies(ctx, "")
	if err != nil {
		return err
	}
	start := time.Now()
	for i := range 100 {
		ns := fmt.Sprintf("scale-%03d", i)
		if err := b.namespace(ctx, b.env.SourceClient, ns, sel, nil); err != nil {
			return err
		}
		all = append(all, objects(ns, 100, 0)...)
		drNamespaces = append(drNamespaces, ns+"-a", ns+"-b")
	}
	if err := create(ctx, src, all, 32); err != nil {
		return err
	}
	if err := copies.wait(ctx, 20000, 15*time.Minute); err != nil {
		return fmt.Errorf("scale sync did not finish: %w", err)
	}
	n, err := b.countOnDR(ctx, drNamespaces...)
	if err != nil {
		return err
	}
	if n != 20000 {
		return fmt.Errorf("scale: %d copies on DR, want 20000", n)
	}
	d := time.Since(start)
	b.rep.add(figure{Name: "scale: 10,000 objects, 100 namespaces, 2 targets", Value: d.Seconds(), Unit: "s", Note: fmt.Sprintf("%.0f DR writes/s", 20000/d.Seconds())})
	h, err := b.heap()
	if err != nil {
		return err
	}
	// The manager now holds the initial-sync rounds' objects, the lag test's and the scale run's
	// (mirrored twice).
	sources := 2200*len(b.rounds) + 50 + 10000
	mirrored := sources + 10000
	b.rep.add(figure{Name: fmt.Sprintf("heap per source object, N = %d", sources), Value: (h - b.emptyHeap) / float64(sources), Unit: "B"})
	per := (h - b.emptyHeap) / float64(mirrored)
	b.rep.add(figure{Name: fmt.Sprintf("heap per mirrored copy, N = %d", mirrored), Value: per, Unit: "B", Target: "<= 4096", Met: atMost(per, 4096)})
	rss, err := peakRSS(b.mgr.Pid())
	if err != nil {
		return err
	}
	b.rep.add(figure{Name: "manager peak RSS", Value: rss / (1 << 20), Unit: "MiB"})
	return nil
}

func peakRSS(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM for pid %d", pid)
}

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p/100))]
}
