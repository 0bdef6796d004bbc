package install

import (
	"context"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/certs"
	"github.com/drsyncer/dr-syncer/manager"
	"github.com/drsyncer/dr-syncer/pkg/access"
	"github.com/drsyncer/dr-syncer/test/harness"
)

const (
	namespace      = "dr-syncer-system" // the README's release namespace
	webhookService = "dr-syncer-webhook"
	metricsService = "dr-syncer-metrics"
	certSecret     = "dr-syncer-webhook-certs"
)

// cluster is one control plane with an admin's kubeconfig file and client.
type cluster struct {
	plane      *envtest.Environment
	cfg        *rest.Config
	c          client.Client
	kubeconfig string
}

func startCluster(t *testing.T, name string, flags map[string]string) *cluster {
	t.Helper()
	plane, cfg, err := harness.StartPlane(flags)
	must(t, err)
	t.Cleanup(func() { _ = plane.Stop() })
	user, err := plane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	must(t, err)
	kc, err := user.KubeConfig()
	must(t, err)
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	must(t, os.WriteFile(path, kc, 0o600))
	scheme := manager.Scheme()
	must(t, apiextensionsv1.AddToScheme(scheme)) // the test installs CRDs
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	must(t, err)
	return &cluster{plane: plane, cfg: cfg, c: c, kubeconfig: path}
}

// run runs a user's command (kubectl or helm) against the cluster and returns its output.
func (c *cluster) run(t *testing.T, wantFail bool, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, append([]string{"--kubeconfig", c.kubeconfig}, args...)...).CombinedOutput()
	if (err != nil) != wantFail {
		t.Fatalf("%s %s: %v (want failure: %v)\n%s", filepath.Base(bin), strings.Join(args, " "), err, wantFail, out)
	}
	return string(out)
}

func (c *cluster) kubectl(t *testing.T, args ...string) string {
	t.Helper()
	return c.run(t, false, harness.KubectlBinary(), args...)
}

func TestInstallSelfSigned(t *testing.T) {
	skipUnlessPodNetwork(t)
	ctx := context.Background()
	// A short check interval, so that the rotation below is seen at once (default: hourly).
	src, dr, p, _ := install(ctx, t, "--set", "certificates.mode=self-signed", "--set", "controller.extraArgs={--cert-check-interval=1s}")
	journey(ctx, t, src, dr, p)

	t.Run("the serving certificate is rotated before it expires, without a restart", func(t *testing.T) {
		var secret corev1.Secret
		must(t, src.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: certSecret}, &secret))
		ca := secret.Data["ca.crt"]
		before := served(t, p, ca)
		// The clock moves 300 days on for the certificate: one issued then is in the last third of
		// its year, as the manager's would be. It stores one such, as it would have stored it then.
		old, err := certs.Renew(&certs.Bundle{CACert: ca, CAKey: secret.Data["ca.key"]}, certs.RenewServing, before.DNSNames, time.Now().Add(-300*24*time.Hour))
		must(t, err)
		secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey] = old.TLSCert, old.TLSKey
		must(t, src.c.Update(ctx, &secret))
		var after *x509.Certificate
		err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			after = served(t, p, ca)
			return after.SerialNumber.Cmp(before.SerialNumber) != 0, nil
		})
		if err != nil {
			t.Fatalf("the manager never rotated the certificate in its last third\nlogs:\n%s", p.logs)
		}
		if after.SerialNumber.Cmp(parsePEM(t, old.TLSCert).SerialNumber) == 0 || time.Until(after.NotAfter) < 300*24*time.Hour {
			t.Fatalf("the manager serves the expiring certificate (until %s) instead of a new one", after.NotAfter)
		}
		webhooksAnswer(ctx, t, src, ca)
		noForbidden(t, p)
	})
}

func TestInstallCertManager(t *testing.T) {
	skipUnlessPodNetwork(t)
	ctx := context.Background()
	src, dr, p, cm := install(ctx, t)
	journey(ctx, t, src, dr, p)

	t.Run("a renewed certificate is served without a restart and verified against the same CA", func(t *testing.T) {
		ca := cm.bundle.CACert
		before := served(t, p, ca)
		renewed := cm.issue(ctx, t)
		if renewed.SerialNumber.Cmp(before.SerialNumber) == 0 {
			t.Fatal("cert-manager's stand-in issued the same certificate")
		}
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			return served(t, p, ca).SerialNumber.Cmp(renewed.SerialNumber) == 0, nil
		})
		if err != nil {
			t.Fatalf("the manager never served the renewed certificate\nlogs:\n%s", p.logs)
		}
		webhooksAnswer(ctx, t, src, ca)
		noForbidden(t, p)
	})

	t.Run("unjoin removes the RemoteCluster, its Secret and the identity on DR", func(t *testing.T) {
		plugin(t, both(t, src, dr), "unjoin", "dr", "--dr-context", "dr")
		for _, obj := range []client.Object{&v1alpha1.RemoteCluster{ObjectMeta: metav1.ObjectMeta{Name: "dr"}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "dr-kubeconfig"}}} {
			if err := src.c.Get(ctx, client.ObjectKeyFromObject(obj), obj); !apierrors.IsNotFound(err) {
				t.Errorf("%T %s is still on the source: %v", obj, obj.GetName(), err)
			}
		}
		for _, obj := range []client.Object{&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: access.ClusterRole}},
			&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: access.ClusterRole}}} {
			if err := dr.c.Get(ctx, client.ObjectKeyFromObject(obj), obj); !apierrors.IsNotFound(err) {
				t.Errorf("%T %s is still on DR: %v", obj, obj.GetName(), err)
			}
		}
	})
}

// install starts a source cluster (whose API server routes to Services through their
// EndpointSlices, as it reaches webhooks in a real cluster) and a DR cluster, installs the chart
// with helm as the README says, plays cert-manager in that mode, and runs the chart's Deployment
// as the kubelet would.
func install(ctx context.Context, t *testing.T, helmArgs ...string) (src, dr *cluster, p *pod, cm *certManager) {
	t.Helper()
	src = startCluster(t, "source", map[string]string{"enable-aggregator-routing": "true", "advertise-address": podIP})
	dr = startCluster(t, "dr", map[string]string{"advertise-address": podIP})
	certManagerMode := !strings.Contains(strings.Join(helmArgs, " "), "certificates.mode=self-signed")
	if certManagerMode {
		src.kubectl(t, "apply", "--server-side", "-f", certManagerCRDs())
		src.kubectl(t, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
	}
	src.run(t, false, harness.HelmBinary(), append([]string{"install", "dr-syncer", filepath.Join(harness.RepoRoot(), "charts", "dr-syncer"),
		"-n", namespace, "--create-namespace"}, helmArgs...)...)
	routeService(ctx, t, src, webhookService)
	if certManagerMode {
		cm = &certManager{c: src.c, namespace: namespace, certificate: "dr-syncer-serving"}
		cm.issue(ctx, t)
		cm.injectCA(ctx, t)
	}
	p = runPod(ctx, t, src.cfg, namespace, "dr-syncer")
	return src, dr, p, cm
}

func certManagerCRDs() string {
	if dir := os.Getenv("CERT_MANAGER_CRDS"); dir != "" {
		return dir
	}
	return filepath.Join(harness.RepoRoot(), "bin", "cert-manager-crds")
}

// routeService plays the endpoints controller for one of the chart's Services: an EndpointSlice
// with the pod's address and the container ports the Service's named targetPorts stand for.
func routeService(ctx context.Context, t *testing.T, src *cluster, service string) {
	t.Helper()
	var svc corev1.Service
	must(t, src.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: service}, &svc))
	var dep appsv1.Deployment
	must(t, src.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "dr-syncer"}, &dep))
	containerPorts := map[string]int32{}
	for _, cp := range dep.Spec.Template.Spec.Containers[0].Ports {
		containerPorts[cp.Name] = cp.ContainerPort
	}
	var ports []discoveryv1.EndpointPort
	for _, sp := range svc.Spec.Ports {
		number := sp.TargetPort.IntVal
		if sp.TargetPort.StrVal != "" {
			number = containerPorts[sp.TargetPort.StrVal]
		}
		ports = append(ports, discoveryv1.EndpointPort{Name: &sp.Name, Port: &number, Protocol: &sp.Protocol})
	}
	ready := true
	must(t, src.c.Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: namespace, Name: service + "-pod", Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{podIP}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       ports,
	}))
}

// served is the webhook's serving certificate, verified for the Service's name against ca.
func served(t *testing.T, p *pod, ca []byte) *x509.Certificate {
	t.Helper()
	c, err := servedCertificate(p.addr("webhook"), webhookService+"."+namespace+".svc", ca)
	must(t, err)
	return c
}
