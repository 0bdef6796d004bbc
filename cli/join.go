package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/access"
)

// JoinOptions say how a DR cluster joins: under which RemoteCluster name, the namespace dr-syncer
// runs in on the source, which custom resources it may mirror beyond the default kinds, and for
// how long each token it is given (and renews itself) lives.
type JoinOptions struct {
	Name                string
	ControllerNamespace string
	Resources           []schema.GroupResource
	TokenLifetime       time.Duration
}

// Join gives dr-syncer a least-privilege identity on the DR cluster (access.Objects), stores a
// kubeconfig with a bound token of it in the controller's namespace on the source and creates the
// RemoteCluster that uses it. Every write is a server-side apply: joining again changes nothing
// but the token.
func Join(ctx context.Context, source client.Client, dr *rest.Config, o JoinOptions) error {
	kubeconfig, err := EnsureIdentity(ctx, dr, o.Resources, o.TokenLifetime)
	if err != nil {
		return err
	}
	for _, obj := range sourceObjects(o, kubeconfig) {
		if err := apply(ctx, source, obj); err != nil {
			return fmt.Errorf("failed to create %s %s on the source: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
		}
	}
	return nil
}

// EnsureIdentity creates or completes dr-syncer's identity on the DR cluster (access.Objects,
// keeping what an earlier join granted) and returns a kubeconfig with a new bound token of it.
func EnsureIdentity(ctx context.Context, dr *rest.Config, resources []schema.GroupResource, lifetime time.Duration) ([]byte, error) {
	drc, err := client.New(dr, client.Options{})
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for the DR cluster: %w", err)
	}
	// What an earlier join granted stays: joining again, or from another source cluster, only adds.
	var existing rbacv1.ClusterRole
	if err := drc.Get(ctx, client.ObjectKey{Name: access.ClusterRole}, &existing); client.IgnoreNotFound(err) != nil {
		return nil, fmt.Errorf("failed to read ClusterRole %s on the DR cluster: %w", access.ClusterRole, err)
	}
	for _, gr := range access.Granted(existing.Rules) {
		if !slices.Contains(resources, gr) {
			resources = append(resources, gr)
		}
	}
	for _, obj := range access.Objects(resources) {
		if err := apply(ctx, drc, obj); err != nil {
			return nil, fmt.Errorf("failed to create %s %s on the DR cluster: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
		}
	}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(lifetime.Seconds()))}}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: access.Namespace, Name: access.ServiceAccount}}
	if err := drc.SubResource("token").Create(ctx, sa, tr); err != nil {
		return nil, fmt.Errorf("failed to request a token for ServiceAccount %s/%s on the DR cluster: %w", access.Namespace, access.ServiceAccount, err)
	}
	if err := rest.LoadTLSFiles(dr); err != nil {
		return nil, fmt.Errorf("failed to read the DR cluster's CA: %w", err)
	}
	return access.Kubeconfig(dr.Host, dr.CAData, tr.Status.Token)
}

// Unjoin deletes the RemoteCluster and its kubeconfig Secret on the source and, unless keepDR,
// the identity on the DR cluster (shared by every source cluster that joined it).
func Unjoin(ctx context.Context, source client.Client, dr *rest.Config, o JoinOptions, keepDR bool) error {
	objs := sourceObjects(o, nil)
	if !keepDR {
		drc, err := client.New(dr, client.Options{})
		if err != nil {
			return fmt.Errorf("failed to create a client for the DR cluster: %w", err)
		}
		ids := access.Objects(nil)
		for i := len(ids) - 1; i >= 0; i-- {
			if err := client.IgnoreNotFound(drc.Delete(ctx, ids[i])); err != nil {
				return fmt.Errorf("failed to delete %s %s on the DR cluster: %w", ids[i].GetObjectKind().GroupVersionKind().Kind, ids[i].GetName(), err)
			}
		}
	}
	for i := len(objs) - 1; i >= 0; i-- {
		if err := client.IgnoreNotFound(source.Delete(ctx, objs[i])); err != nil {
			return fmt.Errorf("failed to delete %s %s on the source: %w", objs[i].GetObjectKind().GroupVersionKind().Kind, objs[i].GetName(), err)
		}
	}
	return nil
}

// sourceObjects are the kubeconfig Secret and the RemoteCluster; the RemoteCluster names only its
// Secret, so a user's other settings on it survive a join again.
func sourceObjects(o JoinOptions, kubeconfig []byte) []client.Object {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: o.ControllerNamespace, Name: o.Name + "-kubeconfig",
		Labels: map[string]string{"app.kubernetes.io/name": "dr-syncer", "app.kubernetes.io/component": "dr-kubeconfig"}},
		Type: corev1.SecretTypeOpaque, Data: map[string][]byte{v1alpha1.DefaultKubeconfigKey: kubeconfig}}
	secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	rc := &v1alpha1.RemoteCluster{ObjectMeta: metav1.ObjectMeta{Name: o.Name},
		Spec: v1alpha1.RemoteClusterSpec{KubeconfigSecretRef: v1alpha1.SecretKeyRef{Name: secret.Name}}}
	rc.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("RemoteCluster"))
	return []client.Object{secret, rc}
}

// apply server-side applies the fields obj sets, as the plugin's field manager.
func apply(ctx context.Context, c client.Client, obj client.Object) error {
	u, err := toApply(obj)
	if err != nil {
		return err
	}
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership)
}

// toApply is obj as an apply configuration: only the fields it sets, no status, no timestamps.
func toApply(obj client.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(obj.GetObjectKind().GroupVersionKind())
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	if u.GetKind() == "RemoteCluster" {
		// Defaults the API server fills in are not the plugin's to own.
		u.Object["spec"] = map[string]any{"kubeconfigSecretRef": map[string]any{"name": obj.(*v1alpha1.RemoteCluster).Spec.KubeconfigSecretRef.Name}}
	}
	return u, nil
}

func (o *options) joinCommand() *cobra.Command {
	jo := JoinOptions{}
	var resources []string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "join NAME --dr-context CTX",
		Short: "Register a DR cluster with a least-privilege identity of its own (RemoteCluster NAME)",
		Long: `join creates, on the DR cluster of --dr-context, the identity dr-syncer writes as: Namespace
dr-syncer, ServiceAccount dr-syncer, ClusterRole dr-syncer-mirror with exactly the verbs mirroring
needs (get, list, watch, create, patch, delete on the default kinds and on each --resource;
get, list, watch, create on Namespaces; escalate and bind so that mirrored Roles and RoleBindings
can be created) and the right to request tokens for itself only. On the source it stores a
kubeconfig with a bound token of that ServiceAccount in Secret NAME-kubeconfig in the controller's
namespace, and creates RemoteCluster NAME. The token expires (--token-lifetime); dr-syncer renews it
before then, so no long-lived token Secret exists anywhere. The DR server address and CA are taken
from your kubeconfig: the source cluster must reach that address.

Running join again is safe: it changes nothing but the token, and what an earlier join granted with
--resource stays granted (also when another source cluster joins). --dry-run prints what it would
create.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			jo.Name = args[0]
			gr, err := access.ParseResources(resources)
			if err != nil {
				return err
			}
			jo.Resources = gr
			if dryRun {
				return printJoin(o.out, jo)
			}
			return o.runJoin(cmd.Context(), jo)
		},
	}
	f := cmd.Flags()
	f.StringVar(&jo.ControllerNamespace, "controller-namespace", "dr-syncer-system", "Namespace dr-syncer runs in on the source (where the kubeconfig Secret goes).")
	f.StringSliceVar(&resources, "resource", nil, "A custom resource dr-syncer may mirror, as plural.group (repeat for more).")
	f.DurationVar(&jo.TokenLifetime, "token-lifetime", 24*time.Hour, "Lifetime of each token; dr-syncer renews it when two thirds have passed.")
	f.BoolVar(&dryRun, "dry-run", false, "Print what would be created on both clusters, and create nothing.")
	return cmd
}

func (o *options) runJoin(ctx context.Context, jo JoinOptions) error {
	source, err := o.sourceClient()
	if err != nil {
		return err
	}
	if o.drContext == "" {
		return errors.New("--dr-context is required: the kubeconfig context of the DR cluster")
	}
	dr, err := o.restConfig(o.drContext)
	if err != nil {
		return err
	}
	if err := Join(ctx, source, dr, jo); err != nil {
		return err
	}
	fmt.Fprintf(o.out, "joined %s as RemoteCluster %s: dr-syncer writes there as ServiceAccount %s/%s (ClusterRole %s)\n",
		dr.Host, jo.Name, access.Namespace, access.ServiceAccount, access.ClusterRole)
	fmt.Fprintf(o.out, "check it with: kubectl get remotecluster %s\n", jo.Name)
	return nil
}

// printJoin writes what join would create, as YAML, the token left out.
func printJoin(out io.Writer, jo JoinOptions) error {
	for _, part := range []struct {
		cluster string
		objs    []client.Object
	}{{"DR cluster", access.Objects(jo.Resources)}, {"source cluster", sourceObjects(jo, []byte("<a kubeconfig with a bound token of the ServiceAccount>"))}} {
		for _, obj := range part.objs {
			u, err := toApply(obj)
			if err != nil {
				return err
			}
			b, err := yaml.Marshal(u.Object)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "# on the %s\n---\n%s", part.cluster, b)
		}
	}
	return nil
}

func (o *options) unjoinCommand() *cobra.Command {
	jo := JoinOptions{}
	var keepDR bool
	cmd := &cobra.Command{
		Use:   "unjoin NAME --dr-context CTX",
		Short: "Undo join: delete RemoteCluster NAME, its kubeconfig Secret and the identity on the DR cluster",
		Long: `unjoin deletes RemoteCluster NAME and Secret NAME-kubeconfig on the source and the identity join
created on the DR cluster (ClusterRoleBinding, ClusterRole, Role, RoleBinding, ServiceAccount and
Namespace dr-syncer). Every source cluster that joined the same DR cluster shares that identity:
keep it with --keep-dr-identity while another still uses it. Copies on the DR cluster stay.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			jo.Name = args[0]
			source, err := o.sourceClient()
			if err != nil {
				return err
			}
			var dr *rest.Config
			if !keepDR {
				if o.drContext == "" {
					return errors.New("--dr-context is required to delete the identity on the DR cluster (or pass --keep-dr-identity)")
				}
				if dr, err = o.restConfig(o.drContext); err != nil {
					return err
				}
			}
			if err := Unjoin(cmd.Context(), source, dr, jo, keepDR); err != nil {
				return err
			}
			fmt.Fprintf(o.out, "unjoined RemoteCluster %s\n", jo.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&jo.ControllerNamespace, "controller-namespace", "dr-syncer-system", "Namespace dr-syncer runs in on the source.")
	cmd.Flags().BoolVar(&keepDR, "keep-dr-identity", false, "Keep the identity on the DR cluster (another source cluster still uses it).")
	return cmd
}
