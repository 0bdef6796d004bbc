package install

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/drsyncer/dr-syncer/certs"
)

// certManager plays cert-manager's controller and cainjector for the chart's serving Certificate,
// and only that: it signs a certificate for the Certificate's dnsNames with a CA of its own, writes
// tls.crt, tls.key and ca.crt into the Secret the Certificate names, and injects the CA into every
// webhook configuration whose cert-manager.io/inject-ca-from annotation names the Certificate.
type certManager struct {
	c                      client.Client
	namespace, certificate string
	bundle                 *certs.Bundle
}

// issue signs a new serving certificate (the first one with a new CA; later ones, a renewal, with
// the same CA) and stores it in the Certificate's Secret; it returns the certificate.
func (m *certManager) issue(ctx context.Context, t *testing.T) *x509.Certificate {
	t.Helper()
	crt := &unstructured.Unstructured{}
	crt.SetAPIVersion("cert-manager.io/v1")
	crt.SetKind("Certificate")
	must(t, m.c.Get(ctx, client.ObjectKey{Namespace: m.namespace, Name: m.certificate}, crt))
	dnsNames, _, _ := unstructured.NestedStringSlice(crt.Object, "spec", "dnsNames")
	secretName, _, _ := unstructured.NestedString(crt.Object, "spec", "secretName")
	renewal, old := certs.RenewServing, m.bundle
	if old == nil {
		renewal, old = certs.RenewAll, &certs.Bundle{}
	}
	b, err := certs.Renew(old, renewal, dnsNames, time.Now())
	must(t, err)
	m.bundle = b
	secret := &corev1.Secret{}
	secret.Namespace, secret.Name, secret.Type = m.namespace, secretName, corev1.SecretTypeTLS
	_, err = controllerutil.CreateOrUpdate(ctx, m.c, secret, func() error {
		secret.Data = map[string][]byte{corev1.TLSCertKey: b.TLSCert, corev1.TLSPrivateKeyKey: b.TLSKey, "ca.crt": b.CACert}
		return nil
	})
	must(t, err)
	return parsePEM(t, b.TLSCert)
}

// injectCA writes the CA into the caBundle of the webhook configurations that ask for it.
func (m *certManager) injectCA(ctx context.Context, t *testing.T) {
	t.Helper()
	from := m.namespace + "/" + m.certificate
	var mutating admissionv1.MutatingWebhookConfigurationList
	var validating admissionv1.ValidatingWebhookConfigurationList
	must(t, m.c.List(ctx, &mutating))
	must(t, m.c.List(ctx, &validating))
	// Each configuration with the clientConfigs of its webhooks.
	var configs []client.Object
	var clientConfigs [][]*admissionv1.WebhookClientConfig
	for i := range mutating.Items {
		configs = append(configs, &mutating.Items[i])
		var cc []*admissionv1.WebhookClientConfig
		for j := range mutating.Items[i].Webhooks {
			cc = append(cc, &mutating.Items[i].Webhooks[j].ClientConfig)
		}
		clientConfigs = append(clientConfigs, cc)
	}
	for i := range validating.Items {
		configs = append(configs, &validating.Items[i])
		var cc []*admissionv1.WebhookClientConfig
		for j := range validating.Items[i].Webhooks {
			cc = append(cc, &validating.Items[i].Webhooks[j].ClientConfig)
		}
		clientConfigs = append(clientConfigs, cc)
	}
	injected := 0
	for i, cfg := range configs {
		if cfg.GetAnnotations()["cert-manager.io/inject-ca-from"] != from {
			continue
		}
		for _, cc := range clientConfigs[i] {
			cc.CABundle = m.bundle.CACert
		}
		must(t, m.c.Update(ctx, cfg))
		injected++
	}
	if injected == 0 {
		t.Fatalf("no webhook configuration asks cert-manager to inject the CA of %s", from)
	}
}

// servedCertificate is the certificate a TLS server at addr presents for serverName, verified
// against the PEM roots.
func servedCertificate(addr, serverName string, roots []byte) (*x509.Certificate, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(roots) {
		return nil, fmt.Errorf("no certificate in the CA bundle")
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

func parsePEM(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	must(t, err)
	return c
}
