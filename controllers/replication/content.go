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

// contents reads the full source objects a pass needs. The source cache holds metadata only (that
// is what keeps memory per object small); content is read from the API server only for objects
// whose copies are not already verified at their current version, and memoized for the pass.
type contents struct {
	reader   client.Reader
	selector labels.Selector

	mu      sync.Mutex
	objects map[string]*unstructured.Unstructured // kind/namespace/name
	listed  map[string]bool                       // kind/namespace
}

func newContents(reader client.Reader, selector labels.Selector) *contents {
	return &contents{reader: reader, selector: selector, objects: map[string]*unstructured.Unstructured{}, listed: map[string]bool{}}
}

// prefetch lists a namespace's objects of a kind when many need content.
func (c *contents) prefetch(ctx context.Context, gvk schema.GroupVersionKind, namespace string, needed int) error {
	if needed < listThreshold {
		return nil
	}
	key := gvk.String() + "/" + namespace
	c.mu.Lock()
	done := c.listed[key]
	c.mu.Unlock()
	if done {
		return nil
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := c.reader.List(ctx, list, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: c.selector}); err != nil {
		return fmt.Errorf("failed to list %s in %s: %w", gvk.Kind, namespace, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range list.Items {
		o := &list.Items[i]
		o.SetGroupVersionKind(gvk)
		c.objects[gvk.String()+"/"+o.GetNamespace()+"/"+o.GetName()] = o
	}
	c.listed[key] = true
	return nil
}

// get returns the full object for a cached metadata entry; nil when it is gone since.
func (c *contents) get(ctx context.Context, gvk schema.GroupVersionKind, m *metav1.PartialObjectMetadata) (*unstructured.Unstructured, error) {
	key := gvk.String() + "/" + m.GetNamespace() + "/" + m.GetName()
	c.mu.Lock()
	o, ok := c.objects[key]
	listed := c.listed[gvk.String()+"/"+m.GetNamespace()]
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
