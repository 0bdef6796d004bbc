package source

import (
	"context"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/pkg/readiness"
	"github.com/drsyncer/dr-syncer/pkg/scope"
)

// Dependencies remember, per replication, what each of its source objects references in its own
// namespace, at the object's resourceVersion: a pass reads an object's content only when it changed
// since (and then it writes the object anyway, from the same read).
type Dependencies struct {
	mu    sync.Mutex
	byRef map[string]map[string]needs
}

type needs struct {
	version string
	refs    []readiness.Ref
}

func NewDependencies() *Dependencies { return &Dependencies{byRef: map[string]map[string]needs{}} }

// Of returns what the objects need in their namespaces, by the object's kind/namespace/name, and
// keeps only the entries of these objects for ref: those of objects gone are forgotten.
func (d *Dependencies) Of(ctx context.Context, ref string, contents *Contents, objects map[schema.GroupVersionKind][]*metav1.PartialObjectMetadata) (map[schema.GroupVersionKind][][]readiness.Ref, error) {
	d.mu.Lock()
	before := d.byRef[ref]
	d.mu.Unlock()
	after := map[string]needs{}
	out := map[schema.GroupVersionKind][][]readiness.Ref{}
	for gvk, objs := range objects {
		if !readiness.RefersInNamespace(gvk.GroupKind()) {
			continue
		}
		out[gvk] = make([][]readiness.Ref, len(objs))
		for i, m := range objs {
			key := gvk.GroupKind().String() + "/" + m.GetNamespace() + "/" + m.GetName()
			n, known := before[key]
			if !known || n.version != m.GetResourceVersion() {
				obj, err := contents.Get(ctx, gvk, m)
				if err != nil {
					return nil, err
				}
				n = needs{version: m.GetResourceVersion()}
				if obj != nil {
					n.refs = namespaced(readiness.Needs(obj))
				}
			}
			after[key] = n
			out[gvk][i] = n.refs
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byRef[ref] = after
	return out, nil
}

// Forget drops what is known of a replication that is gone.
func (d *Dependencies) Forget(ref string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.byRef, ref)
}

// namespaced keeps the references to objects of the same namespace: the others are not a copy's
// to bring along.
func namespaced(refs []readiness.Ref) []readiness.Ref {
	out := refs[:0:0]
	for _, r := range refs {
		if r.Namespace != "" {
			out = append(out, r)
		}
	}
	return out
}

// Follow adds to objects what they reference in their namespace and the pass would otherwise
// leave out (resources.selector): objects of a kind in kinds, in the source cache with the
// replication's label (so neither excluded nor of a kind never mirrored), that scope does not skip.
// It returns how many it added.
func (d *Dependencies) Follow(ctx context.Context, ref, replication string, sc *scope.Scope, informers *Informers, contents *Contents,
	kinds []schema.GroupVersionKind, objects map[schema.GroupVersionKind][]*metav1.PartialObjectMetadata) (int, error) {
	needs, err := d.Of(ctx, ref, contents, objects)
	if err != nil {
		return 0, err
	}
	inScope := map[schema.GroupKind]schema.GroupVersionKind{}
	present := map[readiness.Ref]bool{}
	for _, gvk := range kinds {
		inScope[gvk.GroupKind()] = gvk
		for _, o := range objects[gvk] {
			present[readiness.Ref{Group: gvk.Group, Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}] = true
		}
	}
	added := 0
	for _, perObject := range needs {
		for _, refs := range perObject {
			for _, r := range refs {
				gvk, ok := inScope[r.GroupKind()]
				if !ok || present[r] {
					continue
				}
				present[r] = true
				m := informers.Get(ctx, gvk, r.Namespace, r.Name)
				if m == nil || m.GetLabels()[keys.LabelReplication] != replication || sc.SkipReason(gvk.GroupKind(), m, "") != "" {
					continue
				}
				objects[gvk] = append(objects[gvk], m)
				added++
			}
		}
	}
	return added, nil
}
