package source

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/pkg/scope"
)

// Labeler puts a replication's label on the source objects it covers that lack it: those the
// webhook missed (created before the opt-in or while it was down), and those that lost it.
type Labeler struct {
	// Reader reads from the API server: what is not labeled is not in the source cache.
	Reader client.Reader
	Writer client.Writer
	// Replication is the label's value.
	Replication string
	Scope       *scope.Scope
}

func (l Labeler) patch() client.Patch {
	return client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"metadata":{"labels":{%q:%q}}}`, keys.LabelReplication, l.Replication))
}

// Backfill labels the unlabeled objects of kinds in namespaces that the scope mirrors, and
// returns how many it labeled. An object it cannot list or label is logged and left for the next
// backfill.
func (l Labeler) Backfill(ctx context.Context, kinds []schema.GroupVersionKind, namespaces []string) int {
	log := logf.FromContext(ctx)
	unlabeled, _ := labels.NewRequirement(keys.LabelReplication, selection.DoesNotExist, nil)
	sel := labels.NewSelector().Add(*unlabeled)
	labeled := 0
	for _, ns := range namespaces {
		for _, gvk := range kinds {
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			if err := l.Reader.List(ctx, list, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
				log.V(1).Info("cannot list unlabeled objects", "kind", gvk.Kind, "namespace", ns, "error", err.Error())
				continue
			}
			for i := range list.Items {
				obj := &list.Items[i]
				if l.Scope.SkipReason(gvk.GroupKind(), obj, SecretType(obj)) != "" {
					continue
				}
				if err := l.Writer.Patch(ctx, obj, l.patch()); err != nil && !apierrors.IsNotFound(err) {
					log.Error(err, "failed to label object", "kind", gvk.Kind, "object", client.ObjectKeyFromObject(obj))
					continue
				}
				labeled++
			}
		}
	}
	return labeled
}

// Gone confirms with a read of the source that an object is really gone or excluded on purpose
// (drsyncer.io/exclude, resources.selector, a kind or type never mirrored): then its copy may be
// pruned. An object that merely lost the replication label gets it back and is not gone.
func (l Labeler) Gone(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (bool, error) {
	src := &unstructured.Unstructured{}
	src.SetGroupVersionKind(gvk)
	if err := l.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, src); err != nil {
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}
	if src.GetDeletionTimestamp() != nil || l.Scope.SkipReason(gvk.GroupKind(), src, SecretType(src)) != "" || !l.Scope.Selects(src) {
		return true, nil
	}
	if src.GetLabels()[keys.LabelReplication] == "" {
		if err := l.Writer.Patch(ctx, src, l.patch()); err != nil && !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("failed to put the replication label back on %s %s/%s: %w", gvk.Kind, namespace, name, err)
		}
		logf.FromContext(ctx).Info("source object had lost its replication label: labeled again, its copy kept", "kind", gvk.Kind, "object", klog.KRef(namespace, name))
	}
	return false, nil
}

// SecretType is a Secret's type, "" for other objects.
func SecretType(o *unstructured.Unstructured) string {
	t, _, _ := unstructured.NestedString(o.Object, "type")
	return t
}
