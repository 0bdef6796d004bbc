// Package manager turns options into a running controller-runtime manager: webhooks, their
// certificates, health and readiness, metrics and leader election. main.go parses flags into
// Options; the test harness and the sandbox build the same manager in-process.
package manager

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/certs"
	"github.com/drsyncer/dr-syncer/config"
	"github.com/drsyncer/dr-syncer/pkg/clusters"
	"github.com/drsyncer/dr-syncer/webhooks"
)

// Certificate modes.
const (
	CertModeSelfSigned = "self-signed"
	CertModeFiles      = "files"
)

// Options configure the manager. Flags bind to them in BindFlags.
type Options struct {
	Namespace         string
	ServiceAccount    string
	ServiceName       string
	MetricsService    string
	MetricsAddr       string
	SecureMetrics     bool
	ProbeAddr         string
	LeaderElect       bool
	WebhookHost       string
	WebhookPort       int
	CertMode          string
	CertDir           string
	CertSecretName    string
	CertCheckInterval time.Duration
	WebhookURLHost    string
	LogLevel          int
	LogDevelopment    bool
	SourceClusterName string
	Kubeconfig        clusters.Policy
	MaxPruneFraction  float64
	MinPrune          int
	DeleteWindow      time.Duration
	Workers           int
	Concurrency       int
	IdleInformer      time.Duration
	// InProcessRestart allows a second manager in the same process (tests restart it).
	InProcessRestart bool
	PprofAddr        string
	SourceQPS        int
	// Now is the replication controllers' clock (time.Now when nil); tests move it.
	Now func() time.Time
}

// BindFlags registers the manager's flags on fs and returns the Options they fill.
func BindFlags(fs *flag.FlagSet) *Options {
	o := &Options{}
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = "dr-syncer-system"
	}
	fs.StringVar(&o.Namespace, "namespace", ns, "Namespace dr-syncer runs in: holds kubeconfig Secrets and certificates; never replicated. Defaults to $POD_NAMESPACE.")
	fs.StringVar(&o.ServiceAccount, "service-account", "dr-syncer", "Service account the controller writes as; the resource labeler skips its requests.")
	fs.StringVar(&o.ServiceName, "webhook-service", "dr-syncer-webhook", "Name of the webhook Service (for the serving certificate's DNS names).")
	fs.StringVar(&o.MetricsService, "metrics-service", "dr-syncer-metrics", "Name of the metrics Service: the serving certificate covers it too, so scrapes verify it against the same CA.")
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", ":8443", "Address of the metrics endpoint; \"0\" disables it.")
	fs.BoolVar(&o.SecureMetrics, "metrics-secure", true, "Serve metrics over HTTPS with authentication and authorization (TokenReview/SubjectAccessReview).")
	fs.StringVar(&o.ProbeAddr, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz.")
	fs.BoolVar(&o.LeaderElect, "leader-elect", true, "Elect a leader so that only one replica writes.")
	fs.StringVar(&o.WebhookHost, "webhook-bind-host", "", "Host the webhook server binds to (all addresses by default).")
	fs.IntVar(&o.WebhookPort, "webhook-port", 9443, "Port of the webhook server.")
	fs.StringVar(&o.CertMode, "cert-mode", CertModeFiles, "Webhook certificates: \"files\" (mounted, e.g. by cert-manager, hot-reloaded) or \"self-signed\" (generated, stored in a Secret, caBundle patched, rotated).")
	fs.StringVar(&o.CertDir, "cert-dir", filepath.Join(os.TempDir(), "dr-syncer-webhook-certs"), "Directory of tls.crt, tls.key and ca.crt.")
	fs.DurationVar(&o.CertCheckInterval, "cert-check-interval", time.Hour, "Self-signed mode: how often the certificates are checked and renewed when in the last third of their life.")
	fs.StringVar(&o.CertSecretName, "cert-secret", "dr-syncer-webhook-certs", "Secret that stores self-signed certificates.")
	fs.StringVar(&o.WebhookURLHost, "webhook-url-host", "", "Self-signed mode outside a cluster: register the webhooks by URL https://<host>:<port>/... instead of through the Service.")
	fs.IntVar(&o.LogLevel, "log-level", 0, "Log verbosity: 0 for operators, 2 for more detail, 4+ for developers.")
	fs.BoolVar(&o.LogDevelopment, "log-development", false, "Human-readable console logs instead of JSON.")
	fs.StringVar(&o.SourceClusterName, "source-cluster-name", "source", "Name of this (source) cluster in the drsyncer.io/source annotation of DR copies.")
	fs.BoolVar(&o.Kubeconfig.AllowExec, "allow-kubeconfig-exec", false, "Allow exec credential plugins in RemoteCluster kubeconfigs (they run commands in the controller's pod).")
	fs.BoolVar(&o.Kubeconfig.AllowAuthProvider, "allow-kubeconfig-auth-provider", false, "Allow auth-provider plugins in RemoteCluster kubeconfigs.")
	fs.BoolVar(&o.Kubeconfig.AllowFileReferences, "allow-kubeconfig-files", false, "Allow file references (tokenFile, certificate and key paths) in RemoteCluster kubeconfigs.")
	fs.BoolVar(&o.Kubeconfig.AllowInsecure, "allow-kubeconfig-insecure", false, "Allow insecure-skip-tls-verify in RemoteCluster kubeconfigs.")
	fs.BoolVar(&o.Kubeconfig.AllowProxy, "allow-kubeconfig-proxy", false, "Allow proxy-url in RemoteCluster kubeconfigs.")
	fs.BoolVar(&o.Kubeconfig.AllowHTTP, "allow-kubeconfig-http", false, "Allow plain http:// servers in RemoteCluster kubeconfigs (credentials would travel in clear text).")
	fs.BoolVar(&o.Kubeconfig.AllowLinkLocal, "allow-kubeconfig-link-local", false, "Allow RemoteCluster servers at link-local or cloud metadata addresses (169.254.0.0/16, fe80::/10).")
	fs.Float64Var(&o.MaxPruneFraction, "max-prune-fraction", 0.5, "Mass-delete breaker: the largest share of a target's copies deleted within --mass-delete-window.")
	fs.IntVar(&o.MinPrune, "min-prune", 10, "Mass-delete breaker: this many copies may always be deleted within the window, whatever the fraction.")
	fs.DurationVar(&o.DeleteWindow, "mass-delete-window", time.Hour, "Mass-delete breaker: the sliding window over which deletions are counted (kept in status, so a restart does not reset it).")
	fs.IntVar(&o.Workers, "apply-workers", 16, "Concurrent writes per target.")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "Replications reconciled at once.")
	fs.DurationVar(&o.IdleInformer, "idle-informer-timeout", 10*time.Minute, "How long the source watch of a kind that no replication includes any more is kept before it is stopped.")
	fs.StringVar(&o.PprofAddr, "pprof-bind-address", "", "Address of /debug/pprof for profiling (off by default).")
	fs.IntVar(&o.SourceQPS, "source-qps", 500, "Request rate of reads of changed source objects (burst is twice that).")
	return o
}

// Logger builds the JSON (or console) logger for the options.
func (o *Options) Logger() logr.Logger {
	return zap.New(zap.UseDevMode(o.LogDevelopment), zap.Level(zapcore.Level(-o.LogLevel)))
}

// Scheme returns the scheme with the built-in kinds and dr-syncer's.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = v1alpha1.AddToScheme(s)
	return s
}

// servingHosts are the names the serving certificate must cover: the webhook's first (the readiness
// check dials it), then the metrics Service's, since the metrics endpoint serves the same certificate.
func (o *Options) servingHosts() []string {
	var hosts []string
	if o.WebhookURLHost != "" {
		hosts = []string{o.WebhookURLHost}
	} else {
		hosts = serviceHosts(o.ServiceName, o.Namespace)
	}
	if o.MetricsService != "" {
		hosts = append(hosts, serviceHosts(o.MetricsService, o.Namespace)...)
	}
	return hosts
}

func serviceHosts(service, namespace string) []string {
	svc := service + "." + namespace + ".svc"
	return []string{svc, svc + ".cluster.local", service + "." + namespace}
}

// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete,namespace=dr-syncer-system
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=create;update,namespace=dr-syncer-system
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations;validatingwebhookconfigurations,verbs=get;update;create

// New builds the manager with every webhook and runnable. In self-signed mode it issues the
// certificates and registers the webhooks before returning, so the webhook server can start.
func New(ctx context.Context, cfg *rest.Config, o Options) (ctrl.Manager, error) {
	metricsOpts := metricsserver.Options{BindAddress: o.MetricsAddr, SecureServing: o.SecureMetrics}
	if o.SecureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
		// The webhook's certificate (cert-manager's or self-signed), reloaded when renewed, so that
		// Prometheus verifies the endpoint against the same CA instead of skipping verification.
		metricsOpts.CertDir = o.CertDir
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  Scheme(),
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  o.ProbeAddr,
		PprofBindAddress:        o.PprofAddr,
		LeaderElection:          o.LeaderElect,
		LeaderElectionID:        "dr-syncer.drsyncer.io",
		LeaderElectionNamespace: o.Namespace,
		// Every replica must stop serving and writing promptly when it loses the lease.
		LeaderElectionReleaseOnCancel: true,
		WebhookServer:                 webhook.NewServer(webhook.Options{Host: o.WebhookHost, Port: o.WebhookPort, CertDir: o.CertDir}),
		Controller:                    ctrlconfig.Controller{SkipNameValidation: &o.InProcessRestart},
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			// Only the controller's own Secrets are ever cached.
			&corev1.Secret{}: {Namespaces: map[string]cache.Config{o.Namespace: {}}},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("failed to create the manager: %w", err)
	}
	if err := setupControllers(mgr, o); err != nil {
		return nil, err
	}
	if err := webhooks.Setup(mgr, webhooks.Options{
		ControllerNamespace: o.Namespace,
		ControllerUsername:  "system:serviceaccount:" + o.Namespace + ":" + o.ServiceAccount,
		SourceServer:        cfg.Host,
	}); err != nil {
		return nil, err
	}
	hosts := o.servingHosts()
	if o.CertMode == CertModeSelfSigned {
		direct, err := client.New(cfg, client.Options{Scheme: mgr.GetScheme()})
		if err != nil {
			return nil, fmt.Errorf("failed to create a client: %w", err)
		}
		reg := certs.Registration{Manifests: config.WebhookManifests, ControllerNamespace: o.Namespace}
		if o.WebhookURLHost != "" {
			reg.URLBase = "https://" + net.JoinHostPort(o.WebhookURLHost, strconv.Itoa(o.WebhookPort))
		}
		ss := &certs.SelfSigned{Client: direct, Namespace: o.Namespace, SecretName: o.CertSecretName, Hosts: hosts, CertDir: o.CertDir, Registration: reg, CheckInterval: o.CertCheckInterval}
		if err := ss.Ensure(ctx); err != nil {
			return nil, fmt.Errorf("failed to set up self-signed webhook certificates: %w", err)
		}
		if err := mgr.Add(ss); err != nil {
			return nil, err
		}
	} else if o.CertMode != CertModeFiles {
		return nil, errors.New("cert-mode must be \"files\" or \"self-signed\"")
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	local := net.JoinHostPort("127.0.0.1", strconv.Itoa(o.WebhookPort))
	if err := mgr.AddReadyzCheck("webhook-certificate", certs.ServingChecker(local, filepath.Join(o.CertDir, "ca.crt"), hosts[0])); err != nil {
		return nil, err
	}
	return mgr, nil
}
