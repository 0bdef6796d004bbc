package clusters

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// IdentityNamespace is the namespace whose UID identifies a cluster: every cluster has it, it is
// never deleted, and a rebuilt cluster gets a new one.
const IdentityNamespace = "kube-system"

// Identify returns a cluster's identity: the UID of its kube-system namespace. Two addresses that
// answer with the same identity are the same cluster.
func Identify(ctx context.Context, r client.Reader) (string, error) {
	var ns corev1.Namespace
	if err := r.Get(ctx, client.ObjectKey{Name: IdentityNamespace}, &ns); err != nil {
		return "", fmt.Errorf("cannot read namespace %s to identify the cluster: %w", IdentityNamespace, err)
	}
	return string(ns.UID), nil
}
