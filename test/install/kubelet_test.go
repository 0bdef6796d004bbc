package install

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/drsyncer/dr-syncer/test/harness"
)

// pod is the chart's Deployment run as the kubelet would run its one container, played by the
// test: what it takes from the Deployment is read back from the API server, never from the
// chart's values.
type pod struct {
	cmd *exec.Cmd
	// exited is closed when the container's process has ended; exitErr is then how.
	exited  chan struct{}
	exitErr error
	logs    *harness.LogBuffer
	ports   map[string]int32 // container ports by name
	stop    context.CancelFunc
	wg      sync.WaitGroup
	ended   sync.Once
}

// runPod starts the manager binary as the container of Deployment namespace/name would run:
//   - its args, with each volume's mount path replaced by the directory standing in for it, and
//     --kubeconfig naming the ServiceAccount's credentials (in a pod: the projected token);
//   - its env, with fieldRefs to the pod's namespace resolved;
//   - the ServiceAccount's credentials: a bound token from the TokenRequest API, nothing else;
//   - its Secret volumes written as files and kept in step with their Secrets, as the kubelet does.
//
// It returns once the readiness probe passes.
func runPod(ctx context.Context, t *testing.T, cfg *rest.Config, namespace, name string) *pod {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	must(t, err)
	dep, err := cs.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
	must(t, err)
	spec := dep.Spec.Template.Spec
	c := spec.Containers[0]
	dir := t.TempDir()
	podCtx, stop := context.WithCancel(context.Background())
	p := &pod{exited: make(chan struct{}), logs: &harness.LogBuffer{}, ports: map[string]int32{}, stop: stop}
	t.Cleanup(p.kill)

	mounts := map[string]string{} // mount path → local directory
	var mounted []chan struct{}
	for _, m := range c.VolumeMounts {
		local := filepath.Join(dir, "volumes", m.Name)
		must(t, os.MkdirAll(local, 0o700))
		mounts[m.MountPath] = local
		for _, v := range spec.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				synced := make(chan struct{})
				mounted = append(mounted, synced)
				p.wg.Go(func() { syncSecretVolume(podCtx, t, cs, namespace, v.Secret.SecretName, local, synced) })
			}
		}
	}
	// The kubelet starts the container once its Secret volumes are there.
	for _, synced := range mounted {
		select {
		case <-synced:
		case <-time.After(2 * time.Minute):
			t.Fatal("a Secret volume of the pod never appeared")
		}
	}
	kubeconfig := filepath.Join(dir, "serviceaccount.kubeconfig")
	must(t, os.WriteFile(kubeconfig, serviceAccountKubeconfig(ctx, t, cs, cfg, namespace, spec.ServiceAccountName), 0o600))

	args := []string{"--kubeconfig=" + kubeconfig}
	for _, a := range c.Args {
		args = append(args, inPod(a, mounts))
	}
	env := os.Environ()
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env = append(env, e.Name+"="+namespace)
		default:
			t.Fatalf("env %s: a source this test does not play: %+v", e.Name, e.ValueFrom)
		}
	}
	for _, port := range c.Ports {
		p.ports[port.Name] = port.ContainerPort
	}
	p.cmd = exec.Command(harness.ManagerBinary(), args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(t, p.cmd.Start())
	go func() { p.exitErr = p.cmd.Wait(); close(p.exited) }()

	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		select {
		case <-p.exited:
			return false, fmt.Errorf("the container exited: %v", p.exitErr)
		default:
		}
		return p.httpProbe(c.ReadinessProbe) == nil, nil
	})
	if err != nil {
		t.Fatalf("the pod never became ready: %v\nlogs:\n%s", err, p.logs)
	}
	if err := p.httpProbe(c.LivenessProbe); err != nil {
		t.Fatalf("liveness probe: %v\nlogs:\n%s", err, p.logs)
	}
	return p
}

// inPod rewrites a --flag=path argument whose path lies in a volume to the directory standing in
// for that volume (the deepest mount wins, as in the container's filesystem).
func inPod(arg string, mounts map[string]string) string {
	flag, value, ok := strings.Cut(arg, "=")
	if !ok {
		return arg
	}
	best := ""
	for path := range mounts {
		if (value == path || strings.HasPrefix(value, path+"/")) && len(path) > len(best) {
			best = path
		}
	}
	if best == "" {
		return arg
	}
	return flag + "=" + mounts[best] + strings.TrimPrefix(value, best)
}

// httpProbe calls an httpGet probe at the pod's address, as the kubelet does.
func (p *pod) httpProbe(pr *corev1.Probe) error {
	if pr == nil || pr.HTTPGet == nil {
		return fmt.Errorf("no httpGet probe: %+v", pr)
	}
	port := pr.HTTPGet.Port.IntVal
	if pr.HTTPGet.Port.StrVal != "" {
		port = p.ports[pr.HTTPGet.Port.StrVal]
	}
	c := &http.Client{Timeout: time.Duration(max(pr.TimeoutSeconds, 1)) * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://%s:%d%s", podIP, port, pr.HTTPGet.Path))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("%s: HTTP %d", pr.HTTPGet.Path, resp.StatusCode)
	}
	return nil
}

// addr is the pod's address for a named container port.
func (p *pod) addr(port string) string {
	return podIP + ":" + strconv.Itoa(int(p.ports[port]))
}

func (p *pod) kill() {
	p.ended.Do(func() {
		if p.cmd != nil && p.cmd.Process != nil {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(10 * time.Second):
				_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
				<-p.exited
			}
		}
		p.stop()
		p.wg.Wait()
	})
}

// serviceAccountKubeconfig is a kubeconfig with a bound token of the ServiceAccount: the RBAC
// that applies to dr-syncer is the chart's, nothing else.
func serviceAccountKubeconfig(ctx context.Context, t *testing.T, cs kubernetes.Interface, cfg *rest.Config, namespace, sa string) []byte {
	t.Helper()
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	must(t, err)
	kc := clientcmdapi.NewConfig()
	kc.Clusters["source"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["pod"] = &clientcmdapi.Context{Cluster: "source", AuthInfo: sa}
	kc.CurrentContext = "pod"
	b, err := clientcmd.Write(*kc)
	must(t, err)
	return b
}

// syncSecretVolume keeps dir's files equal to the Secret's data until ctx ends, each file replaced
// at once (written aside, then renamed), as the kubelet updates a mounted Secret.
func syncSecretVolume(ctx context.Context, t *testing.T, cs kubernetes.Interface, namespace, name, dir string, synced chan struct{}) {
	var last map[string][]byte
	first := sync.OnceFunc(func() { close(synced) })
	_ = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		s, err := cs.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil || maps.EqualFunc(s.Data, last, bytes.Equal) {
			return false, nil // a missing Secret: the kubelet waits for it too
		}
		for k, v := range s.Data {
			tmp := filepath.Join(dir, "."+k+".tmp")
			if err := os.WriteFile(tmp, v, 0o600); err != nil {
				t.Errorf("secret volume %s: %v", name, err)
				return true, nil
			}
			if err := os.Rename(tmp, filepath.Join(dir, k)); err != nil {
				t.Errorf("secret volume %s: %v", name, err)
				return true, nil
			}
		}
		last = s.Data
		first()
		return false, nil
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
