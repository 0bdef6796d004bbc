package mirror

import (
	"context"
	"maps"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
)

// Namespaces are the DR namespaces known to exist, per connection of a DR cluster, and whether
// dr-syncer created them there (then everything in them is its own). A write that finds its
// namespace gone makes it forgotten, so that the next pass creates it again.
type Namespaces struct {
	mu sync.Mutex
	// created says dr-syncer created the namespace, by connection and name.
	created map[namespaceKey]bool
}

type namespaceKey struct{ connection, name string }

func NewNamespaces() *Namespaces { return &Namespaces{created: map[namespaceKey]bool{}} }

// Ensure creates namespace ns on the cluster of connection once; an existing namespace is used as it is.
func (n *Namespaces) Ensure(ctx context.Context, c client.Client, connection string, ns *corev1.Namespace) error {
	k := namespaceKey{connection, ns.Name}
	n.mu.Lock()
	_, known := n.created[k]
	n.mu.Unlock()
	if known {
		return nil
	}
	err := c.Create(ctx, ns)
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.created[k] = err == nil
	return nil
}

// Created says dr-syncer created the namespace on this connection.
func (n *Namespaces) Created(connection, name string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.created[namespaceKey{connection, name}]
}

// Forget forgets a namespace found gone.
func (n *Namespaces) Forget(connection, name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.created, namespaceKey{connection, name})
}

// ForgetConnection forgets what was known on a previous connection.
func (n *Namespaces) ForgetConnection(connection string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	maps.DeleteFunc(n.created, func(k namespaceKey, _ bool) bool { return k.connection == connection })
}

// Len is the number of namespaces known.
func (n *Namespaces) Len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.created)
}

// LiveCopies lists a replication's copies of a kind in DR namespaces (metadata from the DR
// cache), keyed by namespace/name. Copies another replication owns (one of the same name, say)
// are not its own.
func LiveCopies(ctx context.Context, c client.Reader, gvk schema.GroupVersionKind, namespaces []string, replication, owner string) (map[string]*metav1.PartialObjectMetadata, error) {
	out := map[string]*metav1.PartialObjectMetadata{}
	for _, ns := range namespaces {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{keys.LabelReplication: replication}); err != nil {
			return nil, err
		}
		for i := range list.Items {
			item := &list.Items[i]
			if IsOwnedByOther(item, owner) {
				continue
			}
			item.SetGroupVersionKind(gvk)
			out[ns+"/"+item.GetName()] = item
		}
	}
	return out, nil
}
