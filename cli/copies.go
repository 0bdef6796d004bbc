package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/pkg/failover"
	"github.com/drsyncer/dr-syncer/pkg/scope"
	"github.com/drsyncer/dr-syncer/pkg/transform"
)

// workloadKinds are promoted first: they are what brings the service back.
var workloadKinds = []schema.GroupKind{
	{Group: "apps", Kind: "Deployment"}, {Group: "apps", Kind: "StatefulSet"},
	{Group: "apps", Kind: "DaemonSet"}, {Group: "batch", Kind: "CronJob"},
}

// copyKinds are the kinds the DR cluster serves that can hold copies: namespaced, listable and
// patchable, never-mirrored kinds left out; workloads first.
func (o *options) copyKinds() ([]schema.GroupVersionKind, error) {
	cfg, err := o.restConfig(o.drContext)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	lists, err := dc.ServerPreferredNamespacedResources()
	if err != nil && len(lists) == 0 {
		return nil, fmt.Errorf("failed to discover the DR cluster's resources: %w", err)
	}
	var out []schema.GroupVersionKind
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, res := range l.APIResources {
			gk := schema.GroupKind{Group: gv.Group, Kind: res.Kind}
			if strings.Contains(res.Name, "/") || !slices.Contains(res.Verbs, "list") || !slices.Contains(res.Verbs, "patch") ||
				scope.IsNeverMirroredKind(gk) {
				continue
			}
			out = append(out, gv.WithKind(res.Kind))
		}
	}
	rank := func(gvk schema.GroupVersionKind) int {
		if i := slices.Index(workloadKinds, gvk.GroupKind()); i >= 0 {
			return i
		}
		return len(workloadKinds)
	}
	slices.SortStableFunc(out, func(a, b schema.GroupVersionKind) int { return rank(a) - rank(b) })
	return out, nil
}

// listCopies lists the DR copies of replication name in every namespace, workloads first. With
// o.namespace (a namespaced Replication) only copies of that source namespace count. The kinds are
// listed a few at a time: most of the dozens a cluster serves hold no copy.
func (o *options) listCopies(ctx context.Context, dr client.Client, name string) ([]*unstructured.Unstructured, error) {
	kinds, err := o.copyKinds()
	if err != nil {
		return nil, err
	}
	perKind := make([][]*unstructured.Unstructured, len(kinds))
	errs := make([]error, len(kinds))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, gvk := range kinds {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			perKind[i], errs[i] = o.listCopiesOf(ctx, dr, gvk, name)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, objs := range perKind {
		out = append(out, objs...)
	}
	return out, nil
}

func (o *options) listCopiesOf(ctx context.Context, dr client.Client, gvk schema.GroupVersionKind, name string) ([]*unstructured.Unstructured, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := dr.List(ctx, list, client.MatchingLabels{keys.LabelManagedBy: keys.ManagedByValue, keys.LabelReplication: name}); err != nil {
		return nil, fmt.Errorf("failed to list %s copies on the DR cluster: %w", gvk.Kind, err)
	}
	var out []*unstructured.Unstructured
	for i := range list.Items {
		obj := &list.Items[i]
		if _, ns, _, ok := sourceOf(obj); ok && (o.namespace == "" || ns == o.namespace) {
			obj.SetGroupVersionKind(gvk)
			out = append(out, obj)
		}
	}
	return out, nil
}

// sourceOf splits a copy's drsyncer.io/source annotation, "cluster/namespace/name".
func sourceOf(obj metav1.Object) (cluster, namespace, name string, ok bool) {
	return transform.ParseSourceRef(obj.GetAnnotations()[keys.AnnotationSource])
}

func isWorkload(obj *unstructured.Unstructured) bool {
	return slices.Contains(workloadKinds, obj.GroupVersionKind().GroupKind())
}

// planned is one object and what it needs.
type planned struct {
	obj  *unstructured.Unstructured
	step failover.Step
	err  error
}

func describe(obj *unstructured.Unstructured) string {
	return fmt.Sprintf("%s %s/%s", obj.GetKind(), obj.GetNamespace(), obj.GetName())
}

// patchAll applies every step with bounded concurrency, showing progress; one failing object
// never stops the others. It records each object's error in place and returns how many failed,
// counting those whose step could not be decided.
func (o *options) patchAll(ctx context.Context, c client.Client, items []*planned, label string) int {
	if len(items) == 0 {
		return 0
	}
	p := newProgress(o.errOut, label, len(items))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	failed := 0
	var mu sync.Mutex
	for _, it := range items {
		if it.err != nil {
			failed++
			p.inc()
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := c.Patch(ctx, it.obj, client.RawPatch(types.MergePatchType, it.step.Patch), client.FieldOwner(FieldManager))
			mu.Lock()
			if err != nil {
				it.err = fmt.Errorf("failed to patch %s: %w", describe(it.obj), err)
				failed++
			}
			mu.Unlock()
			p.inc()
		})
	}
	wg.Wait()
	p.finish()
	return failed
}
