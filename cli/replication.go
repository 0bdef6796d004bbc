package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/scope"
)

// replication is either replication kind, seen through what the commands need.
type replication struct {
	obj      client.Object
	spec     *v1alpha1.ReplicationSpec
	status   *v1alpha1.ReplicationStatus
	selector *metav1.LabelSelector // ClusterReplication's namespaceSelector
}

func fromReplication(o *v1alpha1.Replication) *replication {
	return &replication{obj: o, spec: &o.Spec, status: &o.Status}
}

func fromClusterReplication(o *v1alpha1.ClusterReplication) *replication {
	return &replication{obj: o, spec: &o.Spec.ReplicationSpec, status: &o.Status, selector: o.Spec.NamespaceSelector}
}

// ref is "name" for a ClusterReplication and "namespace/name" for a Replication.
func (r *replication) ref() string {
	if ns := r.obj.GetNamespace(); ns != "" {
		return ns + "/" + r.obj.GetName()
	}
	return r.obj.GetName()
}

func (r *replication) kind() string {
	if r.obj.GetNamespace() != "" {
		return "Replication"
	}
	return "ClusterReplication"
}

func (r *replication) target(cluster string) (v1alpha1.Target, error) {
	for _, t := range r.spec.Targets {
		if t.Cluster == cluster {
			return t, nil
		}
	}
	return v1alpha1.Target{}, fmt.Errorf("%s %s has no target %q", r.kind(), r.ref(), cluster)
}

func (r *replication) targetStatus(cluster string) *v1alpha1.TargetStatus {
	for i := range r.status.Targets {
		if r.status.Targets[i].Cluster == cluster {
			return &r.status.Targets[i]
		}
	}
	return nil
}

// errNotFound says the source answered and has no such replication.
var errNotFound = errors.New("not found")

// getReplication reads the replication name: the Replication in o.namespace, or the
// ClusterReplication when no namespace is given.
func (o *options) getReplication(ctx context.Context, c client.Client, name string) (*replication, error) {
	var r *replication
	var err error
	if o.namespace != "" {
		var obj v1alpha1.Replication
		err = c.Get(ctx, client.ObjectKey{Namespace: o.namespace, Name: name}, &obj)
		r = fromReplication(&obj)
	} else {
		var obj v1alpha1.ClusterReplication
		err = c.Get(ctx, client.ObjectKey{Name: name}, &obj)
		r = fromClusterReplication(&obj)
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("%s %q: %w on the source cluster%s", o.kindName(), name, errNotFound, o.namespaceHint())
	case err != nil:
		return nil, fmt.Errorf("failed to read %s %q from the source cluster: %w", o.kindName(), name, err)
	}
	r.spec.Default()
	return r, nil
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
	out := scope.SourceNamespaces(r.obj.GetName(), r.selector, list.Items)
	return slices.Clip(out), nil
}
