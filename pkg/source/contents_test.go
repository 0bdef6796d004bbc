package source

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// pagedReader serves n ConfigMaps in pages, can fail a page, and counts requests.
type pagedReader struct {
	n        int
	failPage int // 0: none
	release  chan struct{}
	lists    atomic.Int32
	gets     atomic.Int32
}

func (r *pagedReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	r.gets.Add(1)
	obj.SetName(key.Name)
	obj.SetNamespace(key.Namespace)
	return nil
}

func (r *pagedReader) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	o := &client.ListOptions{}
	o.ApplyOptions(opts)
	page := int(r.lists.Add(1))
	if page > 1 && r.release != nil {
		<-r.release // later pages wait until the test lets them through
	}
	if page == r.failPage {
		return errors.New("the API server went away")
	}
	start := 0
	if o.Continue != "" {
		start, _ = strconv.Atoi(o.Continue)
	}
	ul := list.(*unstructured.UnstructuredList)
	end := min(start+int(o.Limit), r.n)
	for i := start; i < end; i++ {
		u := unstructured.Unstructured{}
		u.SetName(fmt.Sprintf("cm-%04d", i))
		u.SetNamespace("shop")
		ul.Items = append(ul.Items, u)
	}
	if end < r.n {
		ul.SetContinue(strconv.Itoa(end))
	}
	return nil
}

var cmGVK = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}

func metaOf(name string) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetName(name)
	m.SetNamespace("shop")
	return m
}

func TestGetServesAPageAsSoonAsItArrivesAndWaitsForTheRest(t *testing.T) {
	r := &pagedReader{n: 1200, release: make(chan struct{})}
	c := NewContents(t.Context(), r, labels.Everything())
	defer c.Done()
	c.Prefetch(cmGVK, "shop", 1200)
	if o, err := c.Get(t.Context(), cmGVK, metaOf("cm-0001")); err != nil || o == nil {
		t.Fatalf("an object of the first page is served while the others are held back: %v %v", o, err)
	}
	got := make(chan *unstructured.Unstructured)
	go func() {
		o, _ := c.Get(context.Background(), cmGVK, metaOf("cm-1100"))
		got <- o
	}()
	close(r.release)
	if o := <-got; o == nil || o.GetName() != "cm-1100" {
		t.Fatalf("an object of the last page: %v", o)
	}
	if o, _ := c.Get(t.Context(), cmGVK, metaOf("cm-9999")); o != nil {
		t.Fatal("an object in no page is gone")
	}
	// A small first page (100), then pages of 500.
	if r.lists.Load() != 4 || r.gets.Load() != 0 {
		t.Fatalf("%d LIST pages and %d GETs; want 4 and 0", r.lists.Load(), r.gets.Load())
	}
}

func TestAPrefetchCutShortFallsBackToReads(t *testing.T) {
	r := &pagedReader{n: 1200, failPage: 2}
	c := NewContents(t.Context(), r, labels.Everything())
	defer c.Done()
	c.Prefetch(cmGVK, "shop", 1200)
	if o, err := c.Get(t.Context(), cmGVK, metaOf("cm-0700")); err != nil || o == nil || o.GetName() != "cm-0700" {
		t.Fatalf("read one by one after the failed page: %v %v", o, err)
	}
	if r.gets.Load() != 1 {
		t.Fatalf("%d GETs, want 1", r.gets.Load())
	}
}

func TestPrefetchesRunAFewAtATimeInTheOrderAsked(t *testing.T) {
	r := &orderedReader{started: make(chan string, 8), release: make(chan struct{})}
	c := NewContents(t.Context(), r, labels.Everything())
	defer c.Done()
	for _, ns := range []string{"a", "b", "c"} {
		c.Prefetch(cmGVK, ns, 100)
		time.Sleep(10 * time.Millisecond) // the goroutines queue in this order
	}
	first := []string{<-r.started, <-r.started}
	select {
	case ns := <-r.started:
		t.Fatalf("a third list (%s) started while %d were under way", ns, listsAtOnce)
	case <-time.After(100 * time.Millisecond):
	}
	close(r.release)
	if third := <-r.started; third != "c" || !slices.Contains(first, "a") || !slices.Contains(first, "b") {
		t.Fatalf("lists started in the order %v, %s; want a and b, then c", first, third)
	}
}

func TestAnEndedPassStopsItsPrefetches(t *testing.T) {
	r := &orderedReader{started: make(chan string, 8), release: make(chan struct{})}
	c := NewContents(t.Context(), r, labels.Everything())
	for _, ns := range []string{"a", "b", "c"} {
		c.Prefetch(cmGVK, ns, 100)
	}
	<-r.started
	<-r.started
	c.Done()
	// The queued list gives up and a waiting reader is answered (by a read of its own).
	if o, err := c.Get(t.Context(), cmGVK, &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "c", Name: "x"}}); err != nil || o == nil {
		t.Fatalf("get after the pass ended: %v %v", o, err)
	}
}

// orderedReader records the namespace of every LIST as it starts and holds it until released;
// its reads are pagedReader's.
type orderedReader struct {
	pagedReader
	started chan string
	release chan struct{}
}

func (r *orderedReader) List(ctx context.Context, _ client.ObjectList, opts ...client.ListOption) error {
	o := &client.ListOptions{}
	o.ApplyOptions(opts)
	r.started <- o.Namespace
	select {
	case <-r.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
