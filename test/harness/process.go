package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Process is the manager running as a real process (the built ./bin/manager), as a user runs it.
type Process struct {
	cmd *exec.Cmd
	// exited is closed once the process has ended; exitErr is then how.
	exited      chan struct{}
	exitErr     error
	endOnce     sync.Once
	MetricsAddr string
	ProbeAddr   string
	PprofAddr   string
	// CertDir holds the serving certificate, its key and ca.crt (the CA that signed it).
	CertDir string
}

// ManagerBinary is the manager built by `make build`.
func ManagerBinary() string { return filepath.Join(RepoRoot(), "bin", "manager") }

// StartManagerProcess runs the manager binary against the source plane with self-signed
// certificates and URL-registered webhooks, and waits until /readyz passes (the webhook server
// serves a valid certificate). Its logs go to logs. Stop it with StopManagerProcess.
func (e *Env) StartManagerProcess(ctx context.Context, binary, dir string, logs io.Writer, extraArgs ...string) (*Process, error) {
	kubeconfig := filepath.Join(dir, "manager.kubeconfig")
	kc, err := e.Kubeconfig(e.Source, "dr-syncer-manager")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		return nil, err
	}
	metricsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	probePort, err := freePort()
	if err != nil {
		return nil, err
	}
	pprofPort, err := freePort()
	if err != nil {
		return nil, err
	}
	o := e.ManagerOptions()
	p := &Process{exited: make(chan struct{}),
		MetricsAddr: "127.0.0.1:" + strconv.Itoa(metricsPort), ProbeAddr: "127.0.0.1:" + strconv.Itoa(probePort),
		PprofAddr: "127.0.0.1:" + strconv.Itoa(pprofPort), CertDir: filepath.Join(dir, "certs")}
	p.cmd = exec.Command(binary,
		"--kubeconfig="+kubeconfig,
		"--namespace="+o.Namespace,
		"--cert-mode=self-signed",
		"--cert-dir="+p.CertDir,
		"--webhook-bind-host=127.0.0.1",
		"--webhook-port="+strconv.Itoa(o.WebhookPort),
		"--webhook-url-host=127.0.0.1",
		"--metrics-bind-address="+p.MetricsAddr,
		"--metrics-secure=false",
		"--health-probe-bind-address="+p.ProbeAddr,
		"--pprof-bind-address="+p.PprofAddr,
		"--leader-elect=false",
		"--source-cluster-name="+o.SourceClusterName,
	)
	// Later flags win: callers override the defaults above (leader election, ports).
	p.cmd.Args = append(p.cmd.Args, extraArgs...)
	p.cmd.Stdout, p.cmd.Stderr = logs, logs
	// Its own process group, so that stopping it never depends on signals reaching a shell.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start %s: %w", binary, err)
	}
	go func() { p.exitErr = p.cmd.Wait(); close(p.exited) }()
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case <-p.exited:
			return false, fmt.Errorf("%w: %w", errExitedEarly, p.exitErr)
		default:
		}
		resp, err := http.Get("http://" + p.ProbeAddr + "/readyz")
		if err != nil {
			return false, nil
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// StartWithProcess brings up both control planes, the manager binary as a process (logs to logs,
// files in dir, extra flags extraArgs) and RemoteCluster "dr": what the sandbox, the e2e tests and
// the benchmarks run on. On error everything started is stopped again.
func StartWithProcess(ctx context.Context, dir string, logs io.Writer, extraArgs ...string) (*Env, *Process, error) {
	env, err := StartWith(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	mgr, err := env.StartManagerProcess(ctx, ManagerBinary(), dir, logs, extraArgs...)
	if errors.Is(err, errExitedEarly) {
		// Most likely a port another test process took between freePort and the bind: once more,
		// on other ports (its logs say why it exited).
		if env.WebhookPort, err = freePort(); err == nil {
			mgr, err = env.StartManagerProcess(ctx, ManagerBinary(), dir, logs, extraArgs...)
		}
	}
	if err == nil {
		err = env.RegisterDR(ctx)
	}
	if err != nil {
		mgr.Stop()
		env.Stop()
		return nil, nil, err
	}
	return env, mgr, nil
}

// errExitedEarly: the manager process ended before it was ready.
var errExitedEarly = errors.New("manager exited before it was ready")

// Stop ends the manager with SIGTERM, then SIGKILL after 10 s, and waits for it. Safe to call
// again, and after Kill.
func (p *Process) Stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	p.endOnce.Do(func() {
		// A manager stopped by a signal exits non-zero: nothing to report. One that already ended
		// (say, before it was ready) is not waited for again.
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	})
}

// Kill ends the manager with SIGKILL, as a crash would, and waits for it.
func (p *Process) Kill() {
	p.endOnce.Do(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited // killed on purpose
	})
}

// Metrics returns the manager's Prometheus metrics text.
func (p *Process) Metrics() (string, error) {
	resp, err := http.Get("http://" + p.MetricsAddr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", errors.New(resp.Status)
	}
	return string(b), err
}

// ScrapeSecure scrapes the metrics endpoint of a manager started with --metrics-secure=true, as
// ScrapeMetrics does, trusting the CA in CertDir.
func (p *Process) ScrapeSecure(ctx context.Context, serverName, token string) (status int, body string, err error) {
	ca, err := os.ReadFile(filepath.Join(p.CertDir, "ca.crt"))
	if err != nil {
		return 0, "", err
	}
	return ScrapeMetrics(ctx, p.MetricsAddr, serverName, ca, token)
}

// ScrapeMetrics scrapes a secure metrics endpoint over HTTPS as Prometheus does with the chart's
// ServiceMonitor: the certificate verified for serverName against the PEM roots, token (unless
// empty) sent as the bearer token.
func ScrapeMetrics(ctx context.Context, addr, serverName string, roots []byte, token string) (status int, body string, err error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(roots) {
		return 0, "", errors.New("no CA certificate in the roots")
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/metrics", nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// GC makes the manager collect garbage (through pprof), so that heap figures count live objects.
func (p *Process) GC() error {
	resp, err := http.Get("http://" + p.PprofAddr + "/debug/pprof/heap?gc=1")
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// LiveHeap collects garbage in the manager and returns its heap in use right after (HeapAlloc as
// the heap profile reports it): a scrape of the metrics endpoint would count its own allocations.
func (p *Process) LiveHeap() (float64, error) {
	resp, err := http.Get("http://" + p.PprofAddr + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	_, after, ok := strings.Cut(string(b), "\n# HeapAlloc = ")
	if !ok {
		return 0, errors.New("the heap profile reports no HeapAlloc")
	}
	line, _, _ := strings.Cut(after, "\n")
	return strconv.ParseFloat(strings.TrimSpace(line), 64)
}

// SaveHeapProfile writes the manager's heap profile to path, for `go tool pprof`.
func (p *Process) SaveHeapProfile(path string) error {
	return p.savePprof("heap", path)
}

// SaveGoroutines writes the manager's goroutines with their stacks to path.
func (p *Process) SaveGoroutines(path string) error {
	return p.savePprof("goroutine?debug=1", path)
}

// SaveCPUProfile records the manager's CPU profile for the given seconds into path.
func (p *Process) SaveCPUProfile(path string, seconds int) error {
	return p.savePprof(fmt.Sprintf("profile?seconds=%d", seconds), path)
}

func (p *Process) savePprof(profile, path string) error {
	resp, err := http.Get("http://" + p.PprofAddr + "/debug/pprof/" + profile)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// Pid is the manager's process ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// PluginBinary is the built kubectl plugin (make build).
func PluginBinary() string { return filepath.Join(RepoRoot(), "bin", "kubectl-drsyncer") }

// HelmBinary is $HELM (the Makefile exports it), else the helm make tools built.
func HelmBinary() string { return toolBinary("HELM", filepath.Join(RepoRoot(), "bin", "helm")) }

// KubectlBinary is $KUBECTL (the Makefile exports it), else the kubectl make tools built.
func KubectlBinary() string {
	return toolBinary("KUBECTL", filepath.Join(RepoRoot(), "bin", "k8s", "kubectl"))
}

func toolBinary(env, built string) string {
	if b := os.Getenv(env); b != "" {
		return b
	}
	return built
}
