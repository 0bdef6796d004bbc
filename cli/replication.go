package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/scope"
)

// replication is either replication kind, seen through what the commands need.
type replication struct {
	obj    v1alpha1.AnyReplication
	spec   *v1alpha1.ReplicationSpec
	status *v1alpha1.ReplicationStatus
}

func replicationOf(o v1alpha1.AnyReplication) *replication {
	o.ReplicationSpec().Default()
	return &replication{obj: o, spec: o.ReplicationSpec(), status: o.ReplicationStatus()}
}

func (r *replication) ref() string  { return v1alpha1.RefOf(r.obj) }
func (r *replication) kind() string { return v1alpha1.KindOf(r.obj) }

func (r *replication) target(cluster string) (v1alpha1.Target, error) {
	if t, ok := r.spec.Target(cluster); ok {
		return t, nil
	}
	return v1alpha1.Target{}, fmt.Errorf("%s %s has no target %q", r.kind(), r.ref(), cluster)
}

// errNotFound says the source answered and has no such replication.
var errNotFound = errors.New("not found")

// getReplication reads the replication name: the Replication in o.namespace, or the
// ClusterReplication when no namespace is given.
func (o *options) getReplication(ctx context.Context, c client.Client, name string) (*replication, error) {
	obj := v1alpha1.NewReplication(o.namespace != "")
	err := c.Get(ctx, client.ObjectKey{Namespace: o.namespace, Name: name}, obj)
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("%s %q: %w on the source cluster%s", o.kindName(), name, errNotFound, o.namespaceHint())
	case err != nil:
		return nil, fmt.Errorf("failed to read %s %q from the source cluster: %w", o.kindName(), name, err)
	}
	return replicationOf(obj), nil
}

func (o *options) kindName() string {
	if o.namespace != "" {
		return "Replication " + o.namespace + "/"
	}
	return "ClusterReplication"
}

func (o *options) namespaceHint() string {
	if o.namespace == "" {
		return " (for a namespaced Replication, pass -n NAMESPACE)"
	}
	return ""
}

// probeReplication reads the replication within the probe timeout. It returns the replication, or
// nil and why the source did not answer; a source that answers without the replication is an error.
func (o *options) probeReplication(ctx context.Context, name string) (*replication, client.Client, string, error) {
	c, err := o.sourceClient()
	if err != nil {
		return nil, nil, err.Error(), nil
	}
	pctx, cancel := context.WithTimeout(ctx, o.probeTimeout)
	defer cancel()
	r, err := o.getReplication(pctx, c, name)
	switch {
	case errors.Is(err, errNotFound):
		return nil, nil, "", err
	case err != nil:
		return nil, nil, err.Error(), nil
	}
	return r, c, "", nil
}

// sourceNamespaces are the namespaces a replication covers on the source.
func sourceNamespaces(ctx context.Context, c client.Client, r *replication) ([]string, error) {
	if ns := r.obj.GetNamespace(); ns != "" {
		return []string{ns}, nil
	}
	var list corev1.NamespaceList
	if err := c.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("failed to list namespaces on the source: %w", err)
	}
	out := scope.SourceNamespaces(r.obj.GetName(), r.obj.NamespaceSelector(), list.Items)
	return slices.Clip(out), nil
}
