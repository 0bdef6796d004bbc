package mirror

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/drsyncer/dr-syncer/api/keys"
)

var configMaps = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}

// recordingWriter answers every write with resourceVersion "100" and remembers what was written.
type recordingWriter struct {
	mu      sync.Mutex
	written []string
}

func (w *recordingWriter) Create(_ context.Context, obj client.Object, _ string) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.written = append(w.written, "create "+obj.GetNamespace()+"/"+obj.GetName())
	return "100", nil
}

func (w *recordingWriter) Apply(_ context.Context, obj *unstructured.Unstructured, _ string) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.written = append(w.written, "apply "+obj.GetNamespace()+"/"+obj.GetName())
	return "100", nil
}

// mapSource serves source content from a map by name; it counts the reads (the workers read
// concurrently).
type mapSource struct {
	objects map[string]*unstructured.Unstructured
	reads   atomic.Int32
}

func (s *mapSource) Prefetch(schema.GroupVersionKind, string, int) {}

func (s *mapSource) Get(_ context.Context, _ schema.GroupVersionKind, m metav1.Object) (*unstructured.Unstructured, error) {
	s.reads.Add(1)
	return s.objects[m.GetName()], nil
}

func meta(name, version string, annotations map[string]string) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(configMaps)
	m.SetNamespace("shop")
	m.SetName(name)
	m.SetResourceVersion(version)
	m.SetAnnotations(annotations)
	return m
}

// copyMeta is a DR copy of source object name in shop-dr, as the DR cache holds it.
func copyMeta(name, version string, extra map[string]string) *metav1.PartialObjectMetadata {
	annotations := map[string]string{keys.AnnotationSource: "src/shop/" + name}
	for k, v := range extra {
		annotations[k] = v
	}
	m := meta(name, version, annotations)
	m.SetNamespace("shop-dr")
	m.SetLabels(map[string]string{keys.LabelManagedBy: keys.ManagedByValue})
	return m
}

func sourceCM(name, version string) *unstructured.Unstructured {
	u := cm("src/shop/"+name, "", "blue", false)
	u.SetNamespace("shop")
	u.SetName(name)
	u.SetResourceVersion(version)
	return u
}

func newPass(t *testing.T, src *mapSource, book *CopyBook, dr ...client.Object) (*Pass, *recordingWriter) {
	t.Helper()
	w := &recordingWriter{}
	return &Pass{
		Engine: &Engine{Client: fake.NewClientBuilder().WithObjects(dr...).Build(), Writer: w},
		Policy: Policy{Drift: DriftCorrect}, Book: book, Workers: 2, Generation: 1,
		Dests: map[string]string{"shop": "shop-dr"}, Source: src,
		Desired: func(u *unstructured.Unstructured, dest string) (*unstructured.Unstructured, error) {
			if u.GetAnnotations()["never"] != "" {
				return nil, nil
			}
			d := cm("src/shop/"+u.GetName(), "h-"+u.GetResourceVersion(), "blue", false)
			d.SetName(u.GetName())
			d.SetNamespace(dest)
			return d, nil
		},
		CreatedNamespace: func(string) bool { return true },
		NamespaceGone:    func(string) {},
		Prune: PruneOptions{Mine: func(metav1.Object) bool { return true }, Retain: false, Terminating: map[string]bool{},
			Confirm: func(context.Context, *metav1.PartialObjectMetadata) (bool, error) { return true, nil }},
		Budget: func(int) *Budget { return NewBudget(10) },
	}, w
}

func actions(cs ChangeSet) map[string]Action {
	out := map[string]Action{}
	for _, c := range cs.Changes {
		out[c.Name] = c.Action
	}
	return out
}

// A pass creates what is absent, leaves alone what it verified at the same versions (without
// reading its content), and waits for a write the DR cache has not shown yet.
func TestPassWritesOnlyWhatIsNotVerified(t *testing.T) {
	book := NewCopyMemory().Begin("prod", "dr#1")
	book.Put(CopyKey(configMaps.GroupKind(), "shop-dr", "verified"), CopyState{SourceVersion: "5", LiveVersion: "50", Generation: 1})
	book.Put(CopyKey(configMaps.GroupKind(), "shop-dr", "inflight"), CopyState{SourceVersion: "6", LiveVersion: "90", Generation: 1})
	src := &mapSource{objects: map[string]*unstructured.Unstructured{"new": sourceCM("new", "7")}}
	p, w := newPass(t, src, book)
	cs := p.Run(context.Background(), []Kind{{
		GVK:     configMaps,
		Sources: []*metav1.PartialObjectMetadata{meta("new", "7", nil), meta("verified", "5", nil), meta("inflight", "6", nil)},
		Live:    map[string]*metav1.PartialObjectMetadata{"shop-dr/verified": copyMeta("verified", "50", nil)},
		Seen:    "60",
	}})
	want := map[string]Action{"new": ActionCreate, "verified": ActionUnchanged, "inflight": ActionPending}
	if got := actions(cs); !equalActions(got, want) {
		t.Fatalf("actions %v, want %v", got, want)
	}
	if !cs.InFlight || src.reads.Load() != 1 || !slices.Equal(w.written, []string{"create shop-dr/new"}) {
		t.Fatalf("inFlight %v, %d content reads, writes %v: want true, 1, one create", cs.InFlight, src.reads.Load(), w.written)
	}
	if st, ok := book.Get(CopyKey(configMaps.GroupKind(), "shop-dr", "new")); !ok || st.LiveVersion != "100" || st.SourceVersion != "7" {
		t.Fatalf("the created copy is not in the book: %+v", st)
	}
}

func equalActions(a, b map[string]Action) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A copy deleted on DR is drift: corrected under Correct, reported as missing otherwise (and
// then not written), unless its source changed meanwhile.
func TestPassTellsDriftFromNews(t *testing.T) {
	for _, tc := range []struct {
		name          string
		drift         DriftPolicy
		sourceVersion string
		want          Action
	}{
		{"deleted on DR, Correct", DriftCorrect, "5", ActionCorrect},
		{"deleted on DR, Report", DriftReport, "5", ActionMissing},
		{"deleted on DR, Ignore", DriftIgnore, "5", ActionMissing},
		{"deleted on DR and changed on the source, Report", DriftReport, "6", ActionCreate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			book := NewCopyMemory().Begin("prod", "dr#1")
			book.Put(CopyKey(configMaps.GroupKind(), "shop-dr", "a"), CopyState{SourceVersion: "5", LiveVersion: "50", Generation: 1})
			src := &mapSource{objects: map[string]*unstructured.Unstructured{"a": sourceCM("a", tc.sourceVersion)}}
			p, w := newPass(t, src, book)
			p.Policy.Drift = tc.drift
			cs := p.Run(context.Background(), []Kind{{GVK: configMaps, Sources: []*metav1.PartialObjectMetadata{meta("a", tc.sourceVersion, nil)},
				Live: map[string]*metav1.PartialObjectMetadata{}, Seen: "60"}})
			if got := actions(cs)["a"]; got != tc.want {
				t.Fatalf("action %s, want %s", got, tc.want)
			}
			if wrote := len(w.written) > 0; wrote != tc.want.Writes() {
				t.Fatalf("writes %v for %s", w.written, tc.want)
			}
		})
	}
}

// Copies without a source are deleted once the source confirms it; an object that turns out never
// to be mirrored makes its copy an orphan; one the source still has (a lost label) is kept.
func TestPassPrunesConfirmedOrphans(t *testing.T) {
	gone, relabeled, never := copyMeta("gone", "1", nil), copyMeta("relabeled", "2", nil), copyMeta("never", "3", nil)
	neverSrc := sourceCM("never", "9")
	neverSrc.SetAnnotations(map[string]string{"never": "true"})
	src := &mapSource{objects: map[string]*unstructured.Unstructured{"never": neverSrc}}
	p, w := newPass(t, src, NewCopyMemory().Begin("prod", "dr#1"), gone, relabeled, never)
	p.Prune.Confirm = func(_ context.Context, o *metav1.PartialObjectMetadata) (bool, error) {
		return o.GetName() != "relabeled", nil
	}
	cs := p.Run(context.Background(), []Kind{{GVK: configMaps, Sources: []*metav1.PartialObjectMetadata{meta("never", "9", nil)},
		Live: map[string]*metav1.PartialObjectMetadata{"shop-dr/gone": gone, "shop-dr/relabeled": relabeled, "shop-dr/never": never}}})
	want := map[string]Action{"gone": ActionDelete, "never": ActionDelete, "relabeled": ActionUnchanged}
	if got := actions(cs); !equalActions(got, want) {
		t.Fatalf("actions %v, want %v", got, want)
	}
	if len(w.written) != 0 || cs.Managed != 3 {
		t.Fatalf("writes %v, managed %d", w.written, cs.Managed)
	}
}

// When more copies lost their source than the budget allows, none is deleted, and the source is
// not read for them; a failed confirmation keeps the copy.
func TestPassHoldsAMassDelete(t *testing.T) {
	a, b := copyMeta("a", "1", nil), copyMeta("b", "2", nil)
	p, _ := newPass(t, &mapSource{}, NewCopyMemory().Begin("prod", "dr#1"), a, b)
	confirmed := 0
	p.Prune.Confirm = func(context.Context, *metav1.PartialObjectMetadata) (bool, error) { confirmed++; return true, nil }
	p.Budget = func(managed int) *Budget { return NewBudget(managed - 1) }
	cs := p.Run(context.Background(), []Kind{{GVK: configMaps, Live: map[string]*metav1.PartialObjectMetadata{"shop-dr/a": a, "shop-dr/b": b}}})
	if got := actions(cs); got["a"] != ActionRetain || got["b"] != ActionRetain || cs.Held != 2 || cs.HeldBudget != 1 || confirmed != 0 {
		t.Fatalf("actions %v, held %d (budget %d), %d confirmations", got, cs.Held, cs.HeldBudget, confirmed)
	}
	p.Budget = func(int) *Budget { return NewBudget(5) }
	p.Prune.Confirm = func(context.Context, *metav1.PartialObjectMetadata) (bool, error) {
		return false, errors.New("source unreachable")
	}
	cs = p.Run(context.Background(), []Kind{{GVK: configMaps, Live: map[string]*metav1.PartialObjectMetadata{"shop-dr/a": a}}})
	if cs.Changes[0].Action != ActionFailed || cs.Changes[0].Err == nil {
		t.Fatalf("an unconfirmed orphan: %+v", cs.Changes)
	}
}

func TestPlanPrune(t *testing.T) {
	deleting := copyMeta("deleting", "1", nil)
	deleting.SetDeletionTimestamp(&metav1.Time{})
	promoted := copyMeta("promoted", "1", map[string]string{keys.AnnotationPromoted: "2026-12-06T00:00:00Z"})
	plain := copyMeta("plain", "1", nil)
	elsewhere := copyMeta("elsewhere", "1", nil)
	elsewhere.Annotations[keys.AnnotationSource] = "src/closing/elsewhere"
	all := []*metav1.PartialObjectMetadata{deleting, promoted, plain, elsewhere}
	for _, tc := range []struct {
		name       string
		opts       PruneOptions
		kept       map[string]Action
		candidates []string
		closing    int
	}{
		{"Delete", PruneOptions{}, map[string]Action{"promoted": ActionPromoted}, []string{"plain", "elsewhere"}, 0},
		{"Retain", PruneOptions{Retain: true}, map[string]Action{"promoted": ActionPromoted, "plain": ActionRetain, "elsewhere": ActionRetain}, nil, 0},
		{"a source namespace being deleted", PruneOptions{Terminating: map[string]bool{"closing": true}},
			map[string]Action{"promoted": ActionPromoted, "elsewhere": ActionRetain}, []string{"plain"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := PlanPrune(all, tc.opts)
			kept := map[string]Action{}
			for _, c := range plan.Kept {
				kept[c.Name] = c.Action
			}
			var candidates []string
			for _, c := range plan.Candidates {
				candidates = append(candidates, c.GetName())
			}
			if !equalActions(kept, tc.kept) || !slices.Equal(candidates, tc.candidates) || plan.Terminating["closing"] != tc.closing {
				t.Fatalf("kept %v, candidates %v, closing %d", kept, candidates, plan.Terminating["closing"])
			}
		})
	}
}

func TestBudget(t *testing.T) {
	b := NewBudget(3)
	if !b.Take(2) || b.Take(2) || b.Remaining() != 1 || !b.Take(1) || b.Take(1) {
		t.Fatal("a budget spends what it has, never more")
	}
}

func TestOlderThan(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{{"5", "6", true}, {"6", "6", false}, {"7", "6", false}, {"x", "6", false}, {"", "6", false}} {
		if got := olderThan(tc.a, tc.b); got != tc.want {
			t.Errorf("olderThan(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
