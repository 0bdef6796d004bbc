package install

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/test/harness"
)

// journey is the README's "Install in a cluster" after helm install: register the DR cluster,
// say where opted-in namespaces go, opt one in; then what a user checks.
func journey(ctx context.Context, t *testing.T, src, dr *cluster, p *pod) {
	samples := filepath.Join(harness.RepoRoot(), "config", "samples")
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"the DR cluster joins with a least-privilege identity, and its RemoteCluster becomes Ready", func(t *testing.T) {
			out := plugin(t, both(t, src, dr), "join", "dr", "--dr-context", "dr")
			if !strings.Contains(out, "joined") {
				t.Fatalf("join said:\n%s", out)
			}
			src.kubectl(t, "wait", "--for=condition=Ready", "remotecluster/dr", "--timeout=60s")
		}},
		{"a namespace opts in and every default kind is mirrored, labeled by the webhook through its Service", func(t *testing.T) {
			src.kubectl(t, "apply", "-f", filepath.Join(samples, "clusterreplication.yaml"))
			src.kubectl(t, "create", "namespace", "shop")
			src.kubectl(t, "annotate", "namespace", "shop", keys.AnnotationReplicate+"=prod")
			// The labeler is called only in covered namespaces: the controller marks this one first.
			src.kubectl(t, "wait", "--for=jsonpath={.metadata.labels.drsyncer\\.io/replication}=prod", "namespace/shop", "--timeout=30s")
			for _, obj := range harness.EveryDefaultKind("shop") {
				must(t, src.c.Create(ctx, obj))
				if obj.GetLabels()[keys.LabelReplication] != "prod" {
					t.Errorf("%T %s was admitted without the replication label: the API server did not reach the labeler through Service %s", obj, obj.GetName(), webhookService)
				}
			}
			for _, obj := range harness.EveryDefaultKind("shop") {
				copied := obj.DeepCopyObject().(client.Object)
				eventually(t, 60*time.Second, func() error {
					return dr.c.Get(ctx, client.ObjectKey{Namespace: "shop-dr", Name: obj.GetName()}, copied)
				},
					"%T %s is not on DR", obj, obj.GetName())
			}
		}},
		{"an edit on DR is corrected, and the drift event is there", func(t *testing.T) {
			var cm corev1.ConfigMap
			must(t, dr.c.Get(ctx, client.ObjectKey{Namespace: "shop-dr", Name: "cm"}, &cm))
			cm.Data["a"] = "edited on DR"
			must(t, dr.c.Update(ctx, &cm))
			eventually(t, 30*time.Second, func() error {
				must(t, dr.c.Get(ctx, client.ObjectKey{Namespace: "shop-dr", Name: "cm"}, &cm))
				return expect(cm.Data["a"] == "1", "the DR copy still says %q", cm.Data["a"])
			}, "the edit on DR was not corrected")
			eventually(t, 30*time.Second, func() error {
				var events eventsv1.EventList
				must(t, src.c.List(ctx, &events))
				for _, e := range events.Items {
					if e.Reason == v1alpha1.ReasonDriftDetected && e.Regarding.Name == "prod" {
						return nil
					}
				}
				return expect(false, "no %s event regarding ClusterReplication prod", v1alpha1.ReasonDriftDetected)
			}, "the drift event")
		}},
		{"an invalid replication is rejected by kubectl apply with its field path", func(t *testing.T) {
			out := src.run(t, true, harness.KubectlBinary(), "apply", "-f", filepath.Join(samples, "invalid-replication.yaml"))
			if !strings.Contains(out, "spec.schedule") {
				t.Fatalf("the rejection does not name spec.schedule:\n%s", out)
			}
		}},
		{"the secure metrics endpoint answers a token bound to the chart's metrics-reader role only", func(t *testing.T) {
			scrapeAsInstalled(ctx, t, src, p)
		}},
		{"a custom resource the chart does not grant is refused with what to grant, and stalls nothing", func(t *testing.T) {
			must(t, src.c.Create(ctx, harness.ExampleCRD("widget", "Widget")))
			must(t, src.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tools", Labels: map[string]string{"widgets": "true"}}}))
			must(t, src.c.Create(ctx, &v1alpha1.ClusterReplication{ObjectMeta: metav1.ObjectMeta{Name: "widgets"}, Spec: v1alpha1.ClusterReplicationSpec{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"widgets": "true"}},
				ReplicationSpec: v1alpha1.ReplicationSpec{Targets: []v1alpha1.Target{{Cluster: "dr", Namespace: "{{.Namespace}}-dr"}},
					Resources: v1alpha1.ResourceSelection{Include: []v1alpha1.GroupKind{{Kind: "ConfigMap"}, {Group: "example.com", Kind: "Widget"}}}}}}))
			eventually(t, 30*time.Second, func() error {
				return src.c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "tools", Name: "plain"}})
			}, "a ConfigMap in namespace tools")
			eventually(t, 30*time.Second, func() error {
				return dr.c.Get(ctx, client.ObjectKey{Namespace: "tools-dr", Name: "plain"}, &corev1.ConfigMap{})
			},
				"the ConfigMap beside an unreadable kind is not on DR")
			eventually(t, 30*time.Second, func() error {
				var cr v1alpha1.ClusterReplication
				must(t, src.c.Get(ctx, client.ObjectKey{Name: "widgets"}, &cr))
				for _, tgt := range cr.Status.Targets {
					for _, pr := range tgt.Problems {
						if pr.Kind == "Widget" && strings.Contains(pr.Message, "dr-syncer may not list widgets.example.com on the source") {
							return nil
						}
					}
				}
				return fmt.Errorf("problems: %+v", cr.Status.Targets)
			}, "the refusal of Widgets")
		}},
		{"the manager was never forbidden anything", func(t *testing.T) { noForbidden(t, p) }},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			t.Fatalf("logs:\n%s", p.logs)
		}
	}
}

// scrapeAsInstalled binds a ServiceAccount to the chart's dr-syncer-metrics-reader ClusterRole, as
// a user does for their Prometheus, and scrapes the pod's metrics port over TLS verified for the
// metrics Service's name against the CA in the serving certificate's Secret (the ServiceMonitor's
// settings); another identity is forbidden and no token is unauthorized.
func scrapeAsInstalled(ctx context.Context, t *testing.T, src *cluster, p *pod) {
	t.Helper()
	for _, sa := range []string{"prometheus", "stranger"} {
		must(t, src.c.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: sa}}))
	}
	must(t, src.c.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-dr-syncer-metrics"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "dr-syncer-metrics-reader"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: namespace, Name: "prometheus"}}}))
	cs, err := kubernetes.NewForConfig(src.cfg)
	must(t, err)
	token := func(sa string) string {
		tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		must(t, err)
		return tr.Status.Token
	}
	var secret corev1.Secret
	must(t, src.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: certSecret}, &secret))
	scrape := func(token string) (int, string) {
		status, body, err := harness.ScrapeMetrics(ctx, p.addr("metrics"), metricsService+"."+namespace+".svc", secret.Data["ca.crt"], token)
		must(t, err)
		return status, body
	}
	reader := token("prometheus")
	eventually(t, 30*time.Second, func() error {
		status, body := scrape(reader)
		return expect(status == http.StatusOK && strings.Contains(body, `drsyncer_remotecluster_up{cluster="dr"} 1`), "HTTP %d", status)
	}, "a scrape with the metrics-reader token")
	if status, _ := scrape(token("stranger")); status != http.StatusForbidden {
		t.Errorf("a scrape by a ServiceAccount without the role: HTTP %d, want 403", status)
	}
	if status, _ := scrape(""); status != http.StatusUnauthorized {
		t.Errorf("a scrape without a token: HTTP %d, want 401", status)
	}
}

// webhooksAnswer checks that the API server still reaches the webhooks, trusting the caBundle it
// holds, and that the bundle is still ca.
func webhooksAnswer(ctx context.Context, t *testing.T, src *cluster, ca []byte) {
	t.Helper()
	var mwc admissionv1.MutatingWebhookConfiguration
	must(t, src.c.Get(ctx, client.ObjectKey{Name: "dr-syncer-mutating"}, &mwc))
	for _, w := range mwc.Webhooks {
		if !bytes.Contains(w.ClientConfig.CABundle, bytes.TrimSpace(ca)) {
			t.Errorf("webhook %s no longer trusts the CA it was installed with", w.Name)
		}
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", GenerateName: "after-renewal-"}}
	must(t, src.c.Create(ctx, cm))
	if cm.Labels[keys.LabelReplication] != "prod" {
		t.Fatal("a ConfigMap created after the renewal was not labeled: the API server cannot reach the webhook")
	}
}

var forbidden = regexp.MustCompile(`(?i)forbidden`)

// noForbidden fails when the manager's log says it was refused something: the chart's RBAC is
// what the manager needs.
func noForbidden(t *testing.T, p *pod) {
	t.Helper()
	for _, line := range strings.Split(p.logs.String(), "\n") {
		if forbidden.MatchString(line) {
			t.Errorf("the manager was forbidden something with the chart's RBAC:\n%s", line)
		}
	}
}

func eventually(t *testing.T, timeout time.Duration, check func() error, what string, args ...any) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		last = check()
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf(what+": %v", append(args, last)...)
	}
}

func expect(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}

// both is a user's kubeconfig with the contexts "source" (current) and "dr".
func both(t *testing.T, src, dr *cluster) string {
	t.Helper()
	merged := clientcmdapi.NewConfig()
	for name, c := range map[string]*cluster{"source": src, "dr": dr} {
		kc, err := clientcmd.LoadFromFile(c.kubeconfig)
		must(t, err)
		cur := kc.Contexts[kc.CurrentContext]
		merged.Clusters[name] = kc.Clusters[cur.Cluster]
		merged.AuthInfos[name] = kc.AuthInfos[cur.AuthInfo]
		merged.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	merged.CurrentContext = "source"
	path := filepath.Join(t.TempDir(), "user.kubeconfig")
	must(t, clientcmd.WriteToFile(*merged, path))
	return path
}

// plugin runs `kubectl drsyncer` as a user does, found by kubectl on PATH (make build puts it there).
func plugin(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	cmd := exec.Command(harness.KubectlBinary(), append(append([]string{"drsyncer"}, args...), "--kubeconfig", kubeconfig)...)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(harness.PluginBinary())+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl drsyncer %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
