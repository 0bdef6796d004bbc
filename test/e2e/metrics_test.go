package e2e

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/drsyncer/dr-syncer/test/harness"
)

// TestSecureMetricsAsInstalled scrapes the metrics endpoint the way the chart deploys it: HTTPS
// with the serving certificate (verified for the metrics Service's name against the CA that signed
// it), authenticated and authorized by the source API server. A token bound to the chart's
// dr-syncer-metrics-reader role reads it; another identity is forbidden; no token is unauthorized.
func TestSecureMetricsAsInstalled(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	logs := &syncBuffer{}
	env, mgr, err := harness.StartWithProcess(ctx, dir, logs, "--metrics-secure=true")
	if err != nil {
		t.Fatalf("%v\nlogs:\n%s", err, logs)
	}
	defer env.Stop()
	defer mgr.Stop()

	// The chart's metrics-reader objects, applied with kubectl as helm would install them. The
	// token Secret stays empty without kube-controller-manager, so the token comes from TokenRequest.
	rendered, err := exec.Command(harness.HelmBinary(), "template", "dr-syncer", filepath.Join(harness.RepoRoot(), "charts", "dr-syncer"),
		"-n", harness.ControllerNamespace, "--kube-version", "1.37.2", "--set", "serviceMonitor.enabled=true", "--show-only", "templates/metrics-reader.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, rendered)
	}
	kubeconfig := filepath.Join(dir, "admin.kubeconfig")
	kc, err := env.Kubeconfig(env.Source, "admin")
	must(t, err)
	must(t, os.WriteFile(kubeconfig, kc, 0o600))
	apply := exec.Command(harness.KubectlBinary(), "--kubeconfig", kubeconfig, "apply", "-f", "-")
	apply.Stdin = bytes.NewReader(rendered)
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply of the chart's metrics-reader objects: %v\n%s", err, out)
	}
	must(t, env.SourceClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: harness.ControllerNamespace, Name: "stranger"}}))
	cs, err := kubernetes.NewForConfig(env.SourceConfig)
	must(t, err)
	token := func(sa string) string {
		t.Helper()
		tr, err := cs.CoreV1().ServiceAccounts(harness.ControllerNamespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		must(t, err)
		return tr.Status.Token
	}
	// The name the chart's ServiceMonitor verifies (tlsConfig.serverName).
	serverName := "dr-syncer-metrics." + harness.ControllerNamespace + ".svc"

	t.Run("a token bound to the chart's metrics-reader role scrapes it", func(t *testing.T) {
		reader := token("dr-syncer-metrics-reader")
		// A fresh binding reaches the API server's authorizer within moments, and the RemoteCluster
		// registered last becomes Ready within seconds.
		deadline := time.Now().Add(30 * time.Second)
		for {
			status, body, err := mgr.ScrapeSecure(ctx, serverName, reader)
			must(t, err)
			if status == http.StatusOK && strings.Contains(body, `drsyncer_remotecluster_up{cluster="dr"} 1`) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("scrape with the metrics-reader token: HTTP %d, want 200 with drsyncer_remotecluster_up:\n%.3000s\nlogs:\n%s", status, body, logs)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	t.Run("another identity is forbidden", func(t *testing.T) {
		status, _, err := mgr.ScrapeSecure(ctx, serverName, token("stranger"))
		must(t, err)
		if status != http.StatusForbidden {
			t.Fatalf("scrape by a ServiceAccount without the role: HTTP %d, want 403", status)
		}
	})
	t.Run("no token is unauthorized", func(t *testing.T) {
		status, _, err := mgr.ScrapeSecure(ctx, serverName, "")
		must(t, err)
		if status != http.StatusUnauthorized {
			t.Fatalf("scrape without a token: HTTP %d, want 401", status)
		}
	})
	t.Run("the certificate names only what it serves", func(t *testing.T) {
		if _, _, err := mgr.ScrapeSecure(ctx, "elsewhere.example", token("dr-syncer-metrics-reader")); err == nil ||
			!strings.Contains(err.Error(), "certificate") {
			t.Fatalf("a scrape verifying another name must fail on the certificate, got %v", err)
		}
	})
}
