package readiness

import (
	"context"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// versions are the versions the needed kinds are read at.
var versions = map[schema.GroupKind]string{
	{Kind: "ConfigMap"}: "v1", {Kind: "Secret"}: "v1", {Kind: "ServiceAccount"}: "v1", {Kind: "PersistentVolumeClaim"}: "v1",
	{Group: "storage.k8s.io", Kind: "StorageClass"}: "v1", {Group: "scheduling.k8s.io", Kind: "PriorityClass"}: "v1",
	{Group: "node.k8s.io", Kind: "RuntimeClass"}: "v1", {Group: "networking.k8s.io", Kind: "IngressClass"}: "v1",
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}: "v1", {Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}: "v1",
}

// Checker says what exists on a DR cluster, reading each object's metadata once while it exists:
// what is missing is read again at every call, so that it is seen as soon as someone provides it.
// It is safe for concurrent use.
type Checker struct {
	Client client.Client
	mu     sync.Mutex
	seen   map[Ref]bool
}

// Exists says whether ref exists on the cluster. A CRD exists when the cluster serves its kind.
// A read that fails for another reason than NotFound (a denied read, a timeout) counts as
// existing: readiness reports what is known to be missing, never a guess.
func (c *Checker) Exists(ctx context.Context, ref Ref) bool {
	c.mu.Lock()
	ok, known := c.seen[ref]
	c.mu.Unlock()
	if known {
		return ok
	}
	if !c.read(ctx, ref) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[Ref]bool{}
	}
	c.seen[ref] = true
	return true
}

func (c *Checker) read(ctx context.Context, ref Ref) bool {
	if ref.Kind == "CustomResourceDefinition" {
		_, err := c.Client.RESTMapper().RESTMapping(schema.GroupKind{Group: ref.Group, Kind: ref.Name})
		return err == nil
	}
	version, ok := versions[ref.GroupKind()]
	if !ok {
		return true
	}
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(ref.GroupKind().WithVersion(version))
	err := c.Client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, m)
	return !apierrors.IsNotFound(err)
}

// Checkers keep one Checker per connection of a DR cluster, each renewed every minute, so that
// what was present is read again now and then.
type Checkers struct {
	mu   sync.Mutex
	byID map[string]checkerAt
}

type checkerAt struct {
	checker *Checker
	since   time.Time
}

// For is the checker of a connection (id) to a cluster, through c.
func (cs *Checkers) For(id string, c client.Client, now time.Time) *Checker {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.byID == nil {
		cs.byID = map[string]checkerAt{}
	}
	e, ok := cs.byID[id]
	if !ok || now.Sub(e.since) >= time.Minute {
		e = checkerAt{checker: &Checker{Client: c}, since: now}
		cs.byID[id] = e
	}
	return e.checker
}

// Forget drops the checker of a previous connection.
func (cs *Checkers) Forget(id string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.byID, id)
}
