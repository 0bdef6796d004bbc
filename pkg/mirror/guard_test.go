package mirror

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"

	"github.com/drsyncer/dr-syncer/pkg/transform"
)

// The guards below fail CI on a cost regression on any machine: they count, never time.

// allocBudgets are the allocations per object through transform, decision and encoding, as
// measured when they were set (go1.26, amd64) plus about 25 %.
var allocBudgets = map[string]float64{"deployment": 550, "configmap": 225}

func goldenInput(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "transform", "testdata", name, "input.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestAllocationsPerMirroredObject(t *testing.T) {
	opts := transform.Options{SourceCluster: "source", Replication: "prod", TargetNamespace: "shop-dr", Replicas: transform.ReplicasZero, SuspendCronJobs: true}
	for name, budget := range allocBudgets {
		t.Run(name, func(t *testing.T) {
			src := goldenInput(t, name)
			live := &metav1.PartialObjectMetadata{}
			var sink int
			allocs := testing.AllocsPerRun(200, func() {
				desired, err := transform.Desired(src, opts)
				if err != nil {
					t.Fatal(err)
				}
				live.SetAnnotations(desired.GetAnnotations())
				live.SetLabels(desired.GetLabels())
				a, _ := Plan(desired, live, Policy{Drift: DriftCorrect})
				obj := createdCopy(desired, true)
				body, err := desired.MarshalJSON()
				if err != nil {
					t.Fatal(err)
				}
				sink += len(a) + len(body) + len(obj.GetName())
			})
			t.Logf("%s: %.0f allocations per object (budget %.0f)", name, allocs, budget)
			if allocs > budget {
				t.Fatalf("%s: %.0f allocations per object through transform, decision and encoding, over the budget of %.0f", name, allocs, budget)
			}
			_ = sink
		})
	}
}

// countingClient counts the requests a pass makes to the DR cluster besides the writer's.
func countingClient(objs ...client.Object) (client.Client, *atomic.Int32) {
	var n atomic.Int32
	count := func() { n.Add(1) }
	c := fake.NewClientBuilder().WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			count()
			return c.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			count()
			return c.List(ctx, list, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			count()
			return c.Patch(ctx, obj, patch, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			count()
			return c.Delete(ctx, obj, opts...)
		},
	}).Build()
	return c, &n
}

// A pass over N new copies in a namespace dr-syncer created issues N creates and nothing else; a
// pass over the same N copies verified at the same versions issues no request at all, not even
// a content read of the source.
func TestRequestsPerPass(t *testing.T) {
	const n = 200
	book := NewCopyMemory().Begin("prod", "dr#1")
	objects := map[string]*unstructured.Unstructured{}
	var sources []*metav1.PartialObjectMetadata
	for i := range n {
		name := fmt.Sprintf("cm-%03d", i)
		objects[name] = sourceCM(name, "7")
		sources = append(sources, meta(name, "7", nil))
	}
	src := &mapSource{objects: objects}
	p, w := newPass(t, src, book)
	dr, requests := countingClient()
	p.Engine.Client = dr
	cs := p.Run(context.Background(), []Kind{{GVK: configMaps, Sources: sources, Live: map[string]*metav1.PartialObjectMetadata{}}})
	if len(w.written) != n || requests.Load() != 0 || src.reads.Load() != n || len(cs.Changes) != n {
		t.Fatalf("new copies: %d writes, %d other DR requests, %d source reads for %d objects; want %d, 0, %d", len(w.written), requests.Load(), src.reads.Load(), n, n, n)
	}

	live := map[string]*metav1.PartialObjectMetadata{}
	for i := range n {
		name := fmt.Sprintf("cm-%03d", i)
		live["shop-dr/"+name] = copyMeta(name, "100", nil) // what the writes answered
	}
	w.written = nil
	src.reads.Store(0)
	cs = p.Run(context.Background(), []Kind{{GVK: configMaps, Sources: sources, Live: live, Seen: "100"}})
	if len(w.written) != 0 || requests.Load() != 0 || src.reads.Load() != 0 {
		t.Fatalf("unchanged copies: %d writes, %d other DR requests, %d source reads; want none", len(w.written), requests.Load(), src.reads.Load())
	}
	for _, c := range cs.Changes {
		if c.Action != ActionUnchanged {
			t.Fatalf("an unchanged copy was %s", c.Action)
		}
	}
}
