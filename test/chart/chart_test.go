// Package chart tests the Helm chart: lint, rendering with default and alternative values, that its
// webhooks, RBAC and CRDs are exactly what config/ generates, and that every rendered object is
// accepted by a real kube-apiserver (server-side dry-run) that has cert-manager's and dr-syncer's CRDs,
// and that its alert rules fire on their conditions only (promtool).
package chart

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/drsyncer/dr-syncer/test/harness"
)

const namespace = "dr-syncer-system"

var root = harness.RepoRoot()

func helm(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(harness.HelmBinary(), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func render(t *testing.T, sets ...string) []*unstructured.Unstructured {
	t.Helper()
	args := []string{"template", "dr-syncer", filepath.Join(root, "charts", "dr-syncer"), "-n", namespace, "--kube-version", "1.37.2"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return decode(t, []byte(helm(t, args...)))
}

func decode(t *testing.T, b []byte) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		if m != nil {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && (name == "" || o.GetName() == name) {
			return o
		}
	}
	return nil
}

func TestLint(t *testing.T) {
	helm(t, "lint", filepath.Join(root, "charts", "dr-syncer"), "--kube-version", "1.37.2")
}

func TestSchemaRejectsBadValues(t *testing.T) {
	bin := filepath.Join(root, "bin", "helm")
	out, err := exec.Command(bin, "template", "x", filepath.Join(root, "charts", "dr-syncer"), "--kube-version", "1.37.2",
		"--set", "certificates.mode=openssl").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "certificates/mode") {
		t.Fatalf("want a schema error naming certificates/mode, got %v: %s", err, out)
	}
}

func TestDefaults(t *testing.T) {
	objs := render(t)
	dep := find(objs, "Deployment", "dr-syncer")
	if dep == nil {
		t.Fatal("no Deployment")
	}
	c, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	sc := c[0].(map[string]any)["securityContext"].(map[string]any)
	if sc["readOnlyRootFilesystem"] != true || sc["runAsNonRoot"] != true || sc["allowPrivilegeEscalation"] != false {
		t.Fatalf("container security context is not restricted: %v", sc)
	}
	if drop := sc["capabilities"].(map[string]any)["drop"].([]any); len(drop) != 1 || drop[0] != "ALL" {
		t.Fatalf("capabilities not dropped: %v", drop)
	}
	if p, _, _ := unstructured.NestedString(dep.Object, "spec", "template", "spec", "securityContext", "seccompProfile", "type"); p != "RuntimeDefault" {
		t.Fatalf("seccomp profile = %q", p)
	}
	args := strings.Join(toStrings(c[0].(map[string]any)["args"]), " ")
	for _, want := range []string{"--cert-mode=files", "--leader-elect=true", "--namespace=" + namespace, "--log-level=0"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %s", args, want)
		}
	}
	if find(objs, "PodDisruptionBudget", "") != nil {
		t.Error("one replica needs no PodDisruptionBudget")
	}
	if find(objs, "Certificate", "dr-syncer-serving") == nil || find(objs, "Issuer", "dr-syncer-ca") == nil {
		t.Error("cert-manager mode needs the CA chain")
	}
	mwc := find(objs, "MutatingWebhookConfiguration", "")
	if mwc.GetAnnotations()["cert-manager.io/inject-ca-from"] != namespace+"/dr-syncer-serving" {
		t.Errorf("inject-ca-from = %q", mwc.GetAnnotations()["cert-manager.io/inject-ca-from"])
	}
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule", "NetworkPolicy"} {
		if find(objs, kind, "") != nil {
			t.Errorf("%s is optional and off by default", kind)
		}
	}
}

func TestAlternatives(t *testing.T) {
	objs := render(t, "certificates.mode=self-signed", "replicaCount=3", "serviceMonitor.enabled=true",
		"prometheusRule.enabled=true", "networkPolicy.enabled=true", "controller.logLevel=2", "controller.leaderElect=true")
	if find(objs, "PodDisruptionBudget", "dr-syncer") == nil {
		t.Error("three replicas need a PodDisruptionBudget")
	}
	if find(objs, "Certificate", "") != nil {
		t.Error("self-signed mode must not need cert-manager")
	}
	if _, ok := find(objs, "MutatingWebhookConfiguration", "").GetAnnotations()["cert-manager.io/inject-ca-from"]; ok {
		t.Error("self-signed mode must not ask cert-manager to inject a CA")
	}
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule", "NetworkPolicy"} {
		if find(objs, kind, "") == nil {
			t.Errorf("%s enabled but not rendered", kind)
		}
	}
	rule := find(objs, "PrometheusRule", "")
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	var alerts []string
	for _, r := range groups[0].(map[string]any)["rules"].([]any) {
		alerts = append(alerts, r.(map[string]any)["alert"].(string))
	}
	want := []string{"DrSyncerDriftDetected", "DrSyncerReplicationStale", "DrSyncerRemoteClusterDown", "DrSyncerFailoverNotReady", "DrSyncerWebhookErrors"}
	if !reflect.DeepEqual(alerts, want) {
		t.Errorf("alerts = %v, want %v", alerts, want)
	}
}

// TestMatchesConfig fails when the chart's webhooks, RBAC or CRDs drift from what config/ generates.
func TestMatchesConfig(t *testing.T) {
	objs := render(t)
	b, err := os.ReadFile(filepath.Join(root, "config", "webhook", "manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range decode(t, b) {
		got := find(objs, want.GetKind(), want.GetName())
		if got == nil {
			t.Fatalf("chart lacks %s %s", want.GetKind(), want.GetName())
		}
		if !reflect.DeepEqual(got.Object["webhooks"], want.Object["webhooks"]) {
			t.Errorf("%s %s: chart webhooks differ from config/webhook (run make manifests)", want.GetKind(), want.GetName())
		}
	}
	b, err = os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range decode(t, b) {
		got := find(objs, want.GetKind(), want.GetName())
		if got == nil || !reflect.DeepEqual(got.Object["rules"], want.Object["rules"]) {
			t.Errorf("%s %s: chart RBAC differs from config/rbac (run make manifests)", want.GetKind(), want.GetName())
		}
	}
	crds, _ := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	for _, src := range crds {
		a, _ := os.ReadFile(src)
		c, err := os.ReadFile(filepath.Join(root, "charts", "dr-syncer", "crds", filepath.Base(src)))
		if err != nil || !bytes.Equal(a, c) {
			t.Errorf("chart CRD %s differs from config/crd/bases (run make manifests)", filepath.Base(src))
		}
	}
}

// TestServerSideDryRun applies every rendered object, both modes, to a real API server.
func TestServerSideDryRun(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Setenv("KUBEBUILDER_ASSETS", filepath.Join(root, "bin", "k8s"))
	}
	certManager := os.Getenv("CERT_MANAGER_CRDS")
	if certManager == "" {
		certManager = filepath.Join(root, "bin", "cert-manager-crds")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:        []string{filepath.Join(root, "config", "crd", "bases"), certManager},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 90 * time.Second,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		t.Fatal(err)
	}
	for _, sets := range [][]string{nil, {"certificates.mode=self-signed", "replicaCount=2", "networkPolicy.enabled=true"}} {
		for _, o := range render(t, sets...) {
			if o.GroupVersionKind().Group == "monitoring.coreos.com" {
				continue // Prometheus Operator CRDs are not part of this test bed
			}
			if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("chart-test"), client.DryRunAll, client.ForceOwnership); err != nil {
				t.Errorf("%v: %s %s rejected: %v", sets, o.GetKind(), o.GetName(), err)
			}
		}
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestMetricsScrapeIsAuthorizedAndVerified: the chart ships the role a scraper needs, and its
// ServiceMonitor scrapes with a token bound to it and verifies the endpoint's certificate (which
// covers the metrics Service) against the serving CA.
func TestMetricsScrapeIsAuthorizedAndVerified(t *testing.T) {
	objs := render(t)
	if find(objs, "ClusterRole", "dr-syncer-metrics-reader") == nil {
		t.Error("no dr-syncer-metrics-reader ClusterRole by default: nothing could be bound to scrape metrics")
	}
	dns, _, _ := unstructured.NestedStringSlice(find(objs, "Certificate", "dr-syncer-serving").Object, "spec", "dnsNames")
	if !slices.Contains(dns, "dr-syncer-metrics."+namespace+".svc") {
		t.Errorf("the serving certificate does not cover the metrics Service: %v", dns)
	}
	objs = render(t, "serviceMonitor.enabled=true")
	binding := find(objs, "ClusterRoleBinding", "dr-syncer-metrics-reader")
	if binding == nil || binding.Object["roleRef"].(map[string]any)["name"] != "dr-syncer-metrics-reader" {
		t.Fatalf("the ServiceMonitor's identity is not bound to the metrics-reader role: %v", binding)
	}
	token := find(objs, "Secret", "dr-syncer-metrics-reader-token")
	if token == nil || token.GetAnnotations()["kubernetes.io/service-account.name"] != "dr-syncer-metrics-reader" {
		t.Fatalf("no token Secret for the metrics-reader ServiceAccount: %v", token)
	}
	endpoints, _, _ := unstructured.NestedSlice(find(objs, "ServiceMonitor", "dr-syncer").Object, "spec", "endpoints")
	ep := endpoints[0].(map[string]any)
	if _, ok := ep["bearerTokenFile"]; ok {
		t.Error("the ServiceMonitor uses the deprecated bearerTokenFile")
	}
	if name, _, _ := unstructured.NestedString(ep, "authorization", "credentials", "name"); name != token.GetName() {
		t.Errorf("the ServiceMonitor's authorization reads %q, want %q", name, token.GetName())
	}
	tls := ep["tlsConfig"].(map[string]any)
	if tls["insecureSkipVerify"] == true {
		t.Error("the ServiceMonitor skips TLS verification")
	}
	ca, _, _ := unstructured.NestedString(tls, "ca", "secret", "name")
	if ca != "dr-syncer-webhook-certs" || tls["serverName"] != "dr-syncer-metrics."+namespace+".svc" {
		t.Errorf("the ServiceMonitor does not verify the endpoint against the serving CA: %v", tls)
	}
}

// The manager's Go runtime gets GOMEMLIMIT from the chart's memory limit, so that it collects
// before the kernel kills it; none without a limit.
func TestGoMemLimitFollowsTheMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		sets []string
		want string
	}{
		{nil, "460MiB"}, // 90 % of the default 512Mi
		{[]string{"resources.limits.memory=2Gi"}, "1843MiB"},
		{[]string{"resources.limits.memory=2Gi", "goMemLimitPercent=75"}, "1536MiB"},
		{[]string{"resources.limits.memory=null"}, ""},
		{[]string{"goMemLimitPercent=0"}, ""},
	} {
		dep := find(render(t, tc.sets...), "Deployment", "")
		containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
		env, _, _ := unstructured.NestedSlice(containers[0].(map[string]any), "env")
		got := ""
		for _, e := range env {
			if m := e.(map[string]any); m["name"] == "GOMEMLIMIT" {
				got, _ = m["value"].(string)
			}
		}
		if got != tc.want {
			t.Errorf("%v: GOMEMLIMIT %q, want %q", tc.sets, got, tc.want)
		}
	}
}
