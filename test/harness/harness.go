// Package harness is dr-syncer's test bed: a source and a DR control plane (two envtest
// environments: real kube-apiserver and etcd processes) with the CRDs installed, the real manager
// serving its webhooks over TLS (self-signed, registered by URL), and a RemoteCluster "dr" whose
// kubeconfig Secret points at the DR plane. Integration tests, the e2e tests and the sandbox use it.
package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/certs"
	"github.com/drsyncer/dr-syncer/cli"
	"github.com/drsyncer/dr-syncer/manager"
)

// Names the harness creates.
const (
	ControllerNamespace = "dr-syncer-system"
	RemoteClusterName   = "dr"
	KubeconfigSecret    = RemoteClusterName + "-kubeconfig" // see RegisterRemoteCluster
)

// Env is a running test bed.
type Env struct {
	Source, DR             *envtest.Environment
	SourceConfig, DRConfig *rest.Config
	SourceClient, DRClient client.Client
	WebhookPort            int
	CertDir                string

	mgrCancel context.CancelFunc
	mgrDone   chan error
	// clockOffset moves the in-process replication controllers' clock (see Advance).
	clockOffset atomic.Int64
}

// Advance moves the in-process replication controllers' clock forward, for Scheduled mode tests.
func (e *Env) Advance(d time.Duration) { e.clockOffset.Add(int64(d)) }

func (e *Env) now() time.Time { return time.Now().Add(time.Duration(e.clockOffset.Load())) }

// RepoRoot is the repository's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// defaultAssets points envtest at the binaries make tools built, unless the caller chose others.
func defaultAssets() {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		_ = os.Setenv("KUBEBUILDER_ASSETS", filepath.Join(RepoRoot(), "bin", "k8s"))
	}
}

// Start brings up both control planes, the manager (in-process) and the RemoteCluster. On error
// everything already started is stopped again.
func Start(ctx context.Context) (*Env, error) { return StartWith(ctx, true) }

// StartWith is Start; with inProcess false no manager is started, for callers that run the
// manager binary themselves (StartManagerProcess) before RegisterDR.
func StartWith(ctx context.Context, inProcess bool) (_ *Env, err error) {
	defaultAssets()
	e := &Env{}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	crds := []string{filepath.Join(RepoRoot(), "config", "crd", "bases")}
	// 2 cores and two planes: give each more than envtest's 20 s default to start.
	e.Source = &envtest.Environment{CRDDirectoryPaths: crds, ErrorIfCRDPathMissing: true, ControlPlaneStartTimeout: 90 * time.Second, ControlPlaneStopTimeout: 30 * time.Second}
	e.DR = &envtest.Environment{CRDDirectoryPaths: crds, ErrorIfCRDPathMissing: true, ControlPlaneStartTimeout: 90 * time.Second, ControlPlaneStopTimeout: 30 * time.Second}
	// Either plane may run another kube-apiserver (make test-skew, make demo DR_KUBE=skew). Its path
	// is set on the plane itself: KUBEBUILDER_ASSETS would win over envtest's asset directory.
	useAPIServer(e.Source, os.Getenv("DRSYNCER_SOURCE_ASSETS"))
	useAPIServer(e.DR, os.Getenv("DRSYNCER_DR_ASSETS"))
	if e.SourceConfig, err = e.Source.Start(); err != nil {
		return nil, fmt.Errorf("failed to start the source control plane: %w", err)
	}
	if e.DRConfig, err = e.DR.Start(); err != nil {
		return nil, fmt.Errorf("failed to start the DR control plane: %w", err)
	}
	scheme := manager.Scheme()
	_ = apiextensionsv1.AddToScheme(scheme) // tests install CRDs
	if e.SourceClient, err = client.New(e.SourceConfig, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	if e.DRClient, err = client.New(e.DRConfig, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	if err = e.SourceClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ControllerNamespace}}); err != nil {
		return nil, err
	}
	if e.WebhookPort, err = freePort(); err != nil {
		return nil, err
	}
	if e.CertDir, err = os.MkdirTemp("", "drsyncer-certs-"); err != nil {
		return nil, err
	}
	if !inProcess {
		return e, nil
	}
	if err = e.StartManager(ctx); err != nil {
		return nil, err
	}
	if err = e.RegisterDR(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// useAPIServer makes a plane run the kube-apiserver in dir ("" keeps the default).
func useAPIServer(plane *envtest.Environment, dir string) {
	if dir != "" {
		plane.ControlPlane.GetAPIServer().Path = filepath.Join(dir, "kube-apiserver")
	}
}

// StartPlane starts one more control plane (no CRDs) whose kube-apiserver gets the extra flags,
// for a DR cluster that behaves differently (throttling, say). The caller stops it.
func StartPlane(flags map[string]string) (*envtest.Environment, *rest.Config, error) {
	defaultAssets()
	plane := &envtest.Environment{ControlPlaneStartTimeout: 90 * time.Second, ControlPlaneStopTimeout: 30 * time.Second}
	args := plane.ControlPlane.GetAPIServer().Configure()
	for k, v := range flags {
		args.Set(k, v)
	}
	cfg, err := plane.Start()
	if err != nil {
		_ = plane.Stop()
		return nil, nil, fmt.Errorf("failed to start a control plane: %w", err)
	}
	return plane, cfg, nil
}

// TestResources are the custom resources the suites mirror beyond the default kinds: the DR
// identity may write them, as `kubectl drsyncer join --resource` grants.
var TestResources = append([]schema.GroupResource{{Group: "example.com", Resource: "widgets"}, {Group: "example.com", Resource: "gadgets"}},
	OperatorResources...)

// OperatorResources are kinds operators on DR act on, whose copies stand by in a form of their own.
var OperatorResources = []schema.GroupResource{{Group: "keda.sh", Resource: "scaledobjects"}, {Group: "keda.sh", Resource: "scaledjobs"},
	{Group: "kustomize.toolkit.fluxcd.io", Resource: "kustomizations"}, {Group: "helm.toolkit.fluxcd.io", Resource: "helmreleases"},
	{Group: "s3.aws.upbound.io", Resource: "buckets"}, {Group: "argoproj.io", Resource: "applications"}}

// RegisterDR joins the DR plane as RemoteCluster "dr" the way `kubectl drsyncer join` does: dr-syncer
// writes there as a least-privilege ServiceAccount with a bound token, never as an admin. Namespaces
// labeled dr-tenant=true may target it with a Replication.
func (e *Env) RegisterDR(ctx context.Context) error {
	err := cli.Join(ctx, e.SourceClient, rest.CopyConfig(e.DRConfig), cli.JoinOptions{Name: RemoteClusterName,
		ControllerNamespace: ControllerNamespace, Resources: TestResources, TokenLifetime: 24 * time.Hour})
	if err != nil {
		return err
	}
	patch := []byte(`{"spec":{"allowedNamespaces":{"matchLabels":{"dr-tenant":"true"}}}}`)
	rc := &v1alpha1.RemoteCluster{ObjectMeta: metav1.ObjectMeta{Name: RemoteClusterName}}
	return e.SourceClient.Patch(ctx, rc, client.RawPatch(types.MergePatchType, patch))
}

// IdentityKubeconfig gives dr-syncer its least-privilege identity on the plane of cfg, as `kubectl
// drsyncer join` does, and returns a kubeconfig with a new bound token of it: what a test's extra
// RemoteClusters use, so that dr-syncer never writes to a DR plane as an admin.
func IdentityKubeconfig(ctx context.Context, cfg *rest.Config) ([]byte, error) {
	return cli.EnsureIdentity(ctx, rest.CopyConfig(cfg), TestResources, 24*time.Hour)
}

// RegisterRemoteCluster creates RemoteCluster name with spec, its kubeconfig Secret reference
// pointing at Secret "<name>-kubeconfig" in the controller's namespace, which holds secretData
// (no Secret at all when secretData is nil).
func (e *Env) RegisterRemoteCluster(ctx context.Context, name string, secretData map[string][]byte, spec v1alpha1.RemoteClusterSpec) error {
	secretName := name + "-kubeconfig"
	if secretData != nil {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ControllerNamespace, Name: secretName}, Data: secretData}
		if err := e.SourceClient.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("failed to create Secret %s: %w", secretName, err)
		}
	}
	spec.KubeconfigSecretRef = v1alpha1.SecretKeyRef{Name: secretName}
	rc := &v1alpha1.RemoteCluster{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
	if err := e.SourceClient.Create(ctx, rc); err != nil {
		return fmt.Errorf("failed to create RemoteCluster %s: %w", name, err)
	}
	return nil
}

// Kubeconfig returns an admin kubeconfig (system:masters) for a plane.
func (e *Env) Kubeconfig(plane *envtest.Environment, user string) ([]byte, error) {
	u, err := plane.AddUser(envtest.User{Name: user, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to add user %s: %w", user, err)
	}
	return u.KubeConfig()
}

// UserKubeconfig is an admin kubeconfig with two contexts, "source" (the current one) and "dr", as
// a user of `kubectl drsyncer` has; sourceServer, when set, replaces the source's server URL (a
// proxy the test can cut).
func (e *Env) UserKubeconfig(user, sourceServer string) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	for _, c := range []struct {
		name, server string
		plane        *envtest.Environment
	}{{"source", sourceServer, e.Source}, {"dr", "", e.DR}} {
		kc, err := e.Kubeconfig(c.plane, user)
		if err != nil {
			return nil, err
		}
		loaded, err := clientcmd.Load(kc)
		if err != nil {
			return nil, err
		}
		cur := loaded.Contexts[loaded.CurrentContext]
		cluster := loaded.Clusters[cur.Cluster].DeepCopy()
		if c.server != "" {
			cluster.Server = c.server
		}
		cfg.Clusters[c.name] = cluster
		cfg.AuthInfos[c.name] = loaded.AuthInfos[cur.AuthInfo]
		cfg.Contexts[c.name] = &clientcmdapi.Context{Cluster: c.name, AuthInfo: c.name}
	}
	cfg.CurrentContext = "source"
	return clientcmd.Write(*cfg)
}

// ManagerOptions are the options the harness runs the manager with.
func (e *Env) ManagerOptions() manager.Options {
	return manager.Options{
		Namespace:      ControllerNamespace,
		ServiceAccount: "dr-syncer",
		ServiceName:    "dr-syncer-webhook",
		MetricsAddr:    "0",
		ProbeAddr:      "0",
		WebhookHost:    "127.0.0.1",
		WebhookPort:    e.WebhookPort,
		CertMode:       manager.CertModeSelfSigned,
		CertDir:        e.CertDir,
		CertSecretName: "dr-syncer-webhook-certs",
		WebhookURLHost: "127.0.0.1",
		// The source is "source" in every DR copy's drsyncer.io/source annotation.
		SourceClusterName: "source",
		MaxPruneFraction:  0.5,
		MinPrune:          10,
		Workers:           16,
		Concurrency:       4,
		// Specs see a watch no replication needs stopped within seconds.
		IdleInformer:     2 * time.Second,
		InProcessRestart: true,
		SourceQPS:        500,
		Now:              e.now,
	}
}

// StartManager runs the manager in-process and waits until its webhooks serve a valid certificate
// and its caches are in sync.
func (e *Env) StartManager(ctx context.Context) error {
	// The manager outlives the caller's context (often a test node's); StopManager ends it.
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	mgr, err := manager.New(mctx, e.SourceConfig, e.ManagerOptions())
	if err != nil {
		cancel()
		return err
	}
	e.mgrCancel, e.mgrDone = cancel, make(chan error, 1)
	go func() { e.mgrDone <- mgr.Start(mctx) }()
	check := certs.ServingChecker(net.JoinHostPort("127.0.0.1", fmt.Sprint(e.WebhookPort)), filepath.Join(e.CertDir, "ca.crt"), "127.0.0.1")
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
		select {
		case err := <-e.mgrDone:
			return false, fmt.Errorf("manager exited: %w", err)
		default:
		}
		return check(nil) == nil, nil
	})
	if err != nil {
		return fmt.Errorf("webhook server did not come up: %w", err)
	}
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return errors.New("manager caches did not sync")
	}
	return nil
}

// ManagerRunning reports whether the in-process manager runs.
func (e *Env) ManagerRunning() bool { return e.mgrCancel != nil }

// StopManager stops the in-process manager and waits for it; its webhooks stop answering.
func (e *Env) StopManager() {
	if e.mgrCancel == nil {
		return
	}
	e.mgrCancel()
	if err := <-e.mgrDone; err != nil {
		ctrl.Log.Error(err, "manager stopped with an error")
	}
	e.mgrCancel = nil
}

// Stop stops the manager and both control planes. Safe to call more than once.
func (e *Env) Stop() {
	e.StopManager()
	for _, plane := range []*envtest.Environment{e.Source, e.DR} {
		if plane != nil && plane.ControlPlane.APIServer != nil {
			_ = plane.Stop()
		}
	}
	if e.CertDir != "" {
		_ = os.RemoveAll(e.CertDir)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
