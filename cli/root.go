// Package cli is `kubectl drsyncer`: status, diff, sync, promote (failover) and demote (return to
// standby) for dr-syncer replications, using the user's kubeconfig contexts for the source and the
// DR cluster. The decisions are pure functions in pkg/failover and pkg/transform; this package is
// the I/O around them.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

// FieldManager is the field manager of every write the plugin makes.
const FieldManager = "kubectl-drsyncer"

// ErrDifferences is returned by diff when the DR cluster differs from the desired state, so the
// plugin exits 1 like `kubectl diff`.
var ErrDifferences = errors.New("the DR cluster differs from the desired state")

// options are the flags every command shares.
type options struct {
	kubeconfig    string
	sourceContext string
	drContext     string
	namespace     string
	qps           float32
	probeTimeout  time.Duration

	out, errOut io.Writer
	now         func() time.Time
}

// NewCommand returns the kubectl-drsyncer command tree, writing results to out and progress and
// warnings to errOut.
func NewCommand(out, errOut io.Writer) *cobra.Command {
	o := &options{out: out, errOut: errOut, now: time.Now}
	root := &cobra.Command{
		Use:         "kubectl-drsyncer",
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl drsyncer"},
		Short:       "Operate dr-syncer: join DR clusters; status, diff, sync, promote (failover) and demote replications",
		Long: `kubectl drsyncer reads dr-syncer replications on the source cluster and their copies on a DR
cluster, using contexts of your kubeconfig:

  --source-context  the cluster where dr-syncer and the replications live (default: the current context)
  --dr-context      the DR cluster (needed by diff, promote and demote)

Replications are ClusterReplications, or with -n NAMESPACE the Replication of that namespace.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errOut)
	f := root.PersistentFlags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config).")
	f.StringVar(&o.sourceContext, "source-context", "", "Kubeconfig context of the source cluster (default: the current context).")
	f.StringVar(&o.drContext, "dr-context", "", "Kubeconfig context of the DR cluster.")
	f.StringVarP(&o.namespace, "namespace", "n", "", "Namespace of a namespaced Replication (default: ClusterReplications).")
	f.Float32Var(&o.qps, "qps", 200, "Requests per second to each cluster (burst twice as much).")
	f.DurationVar(&o.probeTimeout, "source-timeout", 5*time.Second, "How long to wait for the source cluster before treating it as unreachable.")
	root.AddCommand(o.statusCommand(), o.diffCommand(), o.syncCommand(), o.approveDeletesCommand(), o.promoteCommand(), o.demoteCommand(),
		o.joinCommand(), o.unjoinCommand())
	root.CompletionOptions.HiddenDefaultCmd = true
	return root
}

// Execute runs the plugin with args and returns its exit code.
func Execute(ctx context.Context, args []string, out, errOut io.Writer) int {
	cmd := NewCommand(out, errOut)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		if !errors.Is(err, ErrDifferences) {
			fmt.Fprintln(errOut, "error:", err)
		}
		return 1
	}
	return 0
}

// restConfig builds the client configuration of a kubeconfig context ("" is the current one).
func (o *options) restConfig(contextName string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: contextName}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load kubeconfig context %q: %w", contextName, err)
	}
	cfg.QPS, cfg.Burst = o.qps, int(2*o.qps)
	cfg.UserAgent = FieldManager
	return cfg, nil
}

func (o *options) client(contextName string) (client.Client, error) {
	cfg, err := o.restConfig(contextName)
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := errors.Join(clientgoscheme.AddToScheme(scheme), v1alpha1.AddToScheme(scheme)); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for context %q: %w", contextName, err)
	}
	return c, nil
}

func (o *options) sourceClient() (client.Client, error) { return o.client(o.sourceContext) }

func (o *options) drClient() (client.Client, error) {
	if o.drContext == "" {
		return nil, errors.New("--dr-context is required: the kubeconfig context of the DR cluster")
	}
	return o.client(o.drContext)
}
