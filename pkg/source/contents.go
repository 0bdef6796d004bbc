package source

import (
	"context"
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// listThreshold is how many objects of one kind in one namespace must need content before a pass
// lists them in one request instead of reading them one by one.
const listThreshold = 16

// firstPage and listPage are how many objects one request of a prefetch LIST returns: a small
// first page arrives quickly, so writes start while the rest is still being read.
const (
	firstPage = 100
	listPage  = 500
)

// listsAtOnce bounds the prefetch LISTs under way in one pass: the kinds and namespaces of a pass
// are read ahead of the writes, but never as a burst on the source API server.
const listsAtOnce = 2

// Contents reads the full source objects a pass needs. The source cache holds metadata only (that
// is what keeps memory per object small); content is read from the API server only for objects
// whose copies are not already verified at their current version, and memoized for the pass.
type Contents struct {
	reader   client.Reader
	selector labels.Selector
	ctx      context.Context // the pass: its end stops the prefetches
	stop     context.CancelFunc
	slots    chan struct{}

	mu      sync.Mutex
	changed *sync.Cond                            // a page arrived or a list ended
	objects map[string]*unstructured.Unstructured // kind/namespace/name
	listed  map[string]bool                       // kind/namespace: every page read
	listing map[string]bool                       // kind/namespace: pages still coming
}

func NewContents(ctx context.Context, reader client.Reader, selector labels.Selector) *Contents {
	c := &Contents{reader: reader, selector: selector, slots: make(chan struct{}, listsAtOnce),
		objects: map[string]*unstructured.Unstructured{}, listed: map[string]bool{}, listing: map[string]bool{}}
	c.ctx, c.stop = context.WithCancel(ctx)
	c.changed = sync.NewCond(&c.mu)
	return c
}

// Prefetch starts listing a namespace's objects of a kind, in pages, when many need content, and
// returns at once: get waits for the page of the object it wants. Lists run in the order they
// were asked for, listsAtOnce at a time.
func (c *Contents) Prefetch(gvk schema.GroupVersionKind, namespace string, needed int) {
	if needed < listThreshold {
		return
	}
	key := gvk.String() + "/" + namespace
	c.mu.Lock()
	if c.listed[key] || c.listing[key] {
		c.mu.Unlock()
		return
	}
	c.listing[key] = true
	c.mu.Unlock()
	go func() {
		var err error
		select {
		case c.slots <- struct{}{}:
			defer func() { <-c.slots }()
			next, limit := "", int64(firstPage)
			for {
				if next, err = c.page(gvk, namespace, next, limit); err != nil || next == "" {
					break
				}
				limit = listPage
			}
		case <-c.ctx.Done():
			err = c.ctx.Err()
		}
		if err != nil && c.ctx.Err() == nil {
			// A list cut short leaves the rest to be read one by one.
			log.FromContext(c.ctx).V(1).Info("falling back to reading objects one by one", "error", err.Error())
		}
		c.finish(key, err == nil)
	}()
}

// Done ends the pass's prefetches.
func (c *Contents) Done() { c.stop() }

// page reads one page of a prefetch LIST and returns the continue token of the next ("" at the end).
func (c *Contents) page(gvk schema.GroupVersionKind, namespace, cont string, limit int64) (string, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := c.reader.List(c.ctx, list, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: c.selector},
		client.Limit(limit), client.Continue(cont)); err != nil {
		return "", fmt.Errorf("failed to list %s in %s: %w", gvk.Kind, namespace, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range list.Items {
		o := &list.Items[i]
		o.SetGroupVersionKind(gvk)
		c.objects[gvk.String()+"/"+o.GetNamespace()+"/"+o.GetName()] = o
	}
	c.changed.Broadcast()
	return list.GetContinue(), nil
}

func (c *Contents) finish(key string, complete bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.listing, key)
	c.listed[key] = complete
	c.changed.Broadcast()
}

// Get returns the full object for a cached metadata entry; nil when it is gone since. While a
// prefetch of its kind and namespace is under way it waits for its page.
func (c *Contents) Get(ctx context.Context, gvk schema.GroupVersionKind, m metav1.Object) (*unstructured.Unstructured, error) {
	key := gvk.String() + "/" + m.GetNamespace() + "/" + m.GetName()
	listKey := gvk.String() + "/" + m.GetNamespace()
	c.mu.Lock()
	o, ok := c.objects[key]
	for !ok && c.listing[listKey] {
		c.changed.Wait()
		o, ok = c.objects[key]
	}
	listed := c.listed[listKey]
	c.mu.Unlock()
	if ok || listed {
		return o, nil
	}
	o = &unstructured.Unstructured{}
	o.SetGroupVersionKind(gvk)
	if err := c.reader.Get(ctx, client.ObjectKey{Namespace: m.GetNamespace(), Name: m.GetName()}, o); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("failed to read %s %s/%s: %w", gvk.Kind, m.GetNamespace(), m.GetName(), err)
	}
	c.mu.Lock()
	c.objects[key] = o
	c.mu.Unlock()
	return o, nil
}
