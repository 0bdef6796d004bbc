package replication

import (
	"context"
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// listThreshold is how many objects of one kind in one namespace must need content before a pass
// lists them in one request instead of reading them one by one.
const listThreshold = 16

// listPage is how many objects one request of a prefetch LIST returns: the first page arrives
// quickly, so writes start while the rest is still being read.
const listPage = 500

// contents reads the full source objects a pass needs. The source cache holds metadata only (that
// is what keeps memory per object small); content is read from the API server only for objects
// whose copies are not already verified at their current version, and memoized for the pass.
type contents struct {
	reader   client.Reader
	selector labels.Selector

	mu      sync.Mutex
	changed *sync.Cond                            // a page arrived or a list ended
	objects map[string]*unstructured.Unstructured // kind/namespace/name
	listed  map[string]bool                       // kind/namespace: every page read
	listing map[string]bool                       // kind/namespace: pages still coming
}

func newContents(reader client.Reader, selector labels.Selector) *contents {
	c := &contents{reader: reader, selector: selector, objects: map[string]*unstructured.Unstructured{}, listed: map[string]bool{}, listing: map[string]bool{}}
	c.changed = sync.NewCond(&c.mu)
	return c
}

// prefetch lists a namespace's objects of a kind, in pages, when many need content. It returns
// once the first page is in; the others follow in the background, and get waits for them.
func (c *contents) prefetch(ctx context.Context, gvk schema.GroupVersionKind, namespace string, needed int) error {
	if needed < listThreshold {
		return nil
	}
	key := gvk.String() + "/" + namespace
	c.mu.Lock()
	if c.listed[key] || c.listing[key] {
		c.mu.Unlock()
		return nil
	}
	c.listing[key] = true
	c.mu.Unlock()
	next, err := c.page(ctx, gvk, namespace, "")
	if err != nil || next == "" {
		c.finish(key, err == nil)
		return err
	}
	go func() {
		for next != "" && err == nil {
			next, err = c.page(ctx, gvk, namespace, next)
		}
		// A list cut short leaves the rest to be read one by one.
		c.finish(key, err == nil)
	}()
	return nil
}

// page reads one page of a prefetch LIST and returns the continue token of the next ("" at the end).
func (c *contents) page(ctx context.Context, gvk schema.GroupVersionKind, namespace, cont string) (string, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := c.reader.List(ctx, list, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: c.selector},
		client.Limit(listPage), client.Continue(cont)); err != nil {
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

func (c *contents) finish(key string, complete bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.listing, key)
	c.listed[key] = complete
	c.changed.Broadcast()
}

// get returns the full object for a cached metadata entry; nil when it is gone since. While a
// prefetch of its kind and namespace is under way it waits for its page.
func (c *contents) get(ctx context.Context, gvk schema.GroupVersionKind, m *metav1.PartialObjectMetadata) (*unstructured.Unstructured, error) {
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
