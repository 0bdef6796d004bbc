package certs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// Secret keys of the self-signed store.
const (
	keyCACert      = "ca.crt"
	keyCAKey       = "ca.key"
	keyTLSCert     = corev1.TLSCertKey
	keyTLSKey      = corev1.TLSPrivateKeyKey
	keyTrustBundle = "ca-bundle.crt"
)

// SelfSigned keeps a CA and a serving certificate in a Secret, writes the serving pair into
// CertDir for the webhook server, and registers the webhooks with the CA bundle. Run Ensure once
// before the webhook server starts, then Start (a manager Runnable) keeps it renewed.
type SelfSigned struct {
	// Client must read directly from the API server (no cache): it runs before the manager starts.
	Client       client.Client
	Namespace    string
	SecretName   string
	Hosts        []string
	CertDir      string
	Registration Registration
	// CheckInterval is how often the certificates are checked for renewal (default 1h).
	CheckInterval time.Duration
	// Now is the clock (time.Now by default); tests move it forward to force rotation.
	Now func() time.Time
}

// Ensure loads or issues the certificates, renews what is due, writes the serving pair to CertDir
// and registers the webhooks. It is safe to run from several replicas at once.
func (s *SelfSigned) Ensure(ctx context.Context) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	var secret corev1.Secret
	key := client.ObjectKey{Namespace: s.Namespace, Name: s.SecretName}
	err := s.Client.Get(ctx, key, &secret)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to read certificate Secret %s: %w", key, err)
	}
	exists := err == nil
	b := &Bundle{CACert: secret.Data[keyCACert], CAKey: secret.Data[keyCAKey], TLSCert: secret.Data[keyTLSCert],
		TLSKey: secret.Data[keyTLSKey], TrustBundle: secret.Data[keyTrustBundle]}
	if r := NeedsRenewal(b, s.Hosts, now()); r != RenewNothing {
		if b, err = Renew(b, r, s.Hosts, now()); err != nil {
			return err
		}
		logf.FromContext(ctx).Info("issued webhook certificates", "secret", key.String(), "renewed", map[Renewal]string{RenewServing: "serving", RenewAll: "ca+serving"}[r])
		secret.Namespace, secret.Name, secret.Type = s.Namespace, s.SecretName, corev1.SecretTypeOpaque
		secret.Data = map[string][]byte{keyCACert: b.CACert, keyCAKey: b.CAKey, keyTLSCert: b.TLSCert, keyTLSKey: b.TLSKey, keyTrustBundle: b.TrustBundle}
		if exists {
			err = s.Client.Update(ctx, &secret)
		} else {
			secret.ObjectMeta = metav1.ObjectMeta{Namespace: s.Namespace, Name: s.SecretName,
				Labels: map[string]string{"app.kubernetes.io/name": "dr-syncer", "app.kubernetes.io/component": "webhook-certs"}}
			err = s.Client.Create(ctx, &secret)
		}
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			// Another replica won the race; take what it stored.
			return s.Ensure(ctx)
		}
		if err != nil {
			return fmt.Errorf("failed to store certificate Secret %s: %w", key, err)
		}
	}
	if err := writeFiles(s.CertDir, b); err != nil {
		return err
	}
	return s.Registration.Apply(ctx, s.Client, b.TrustBundle)
}

// Start renews the certificates on every CheckInterval until ctx ends.
func (s *SelfSigned) Start(ctx context.Context) error {
	interval := s.CheckInterval
	if interval == 0 {
		interval = time.Hour
	}
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if err := s.Ensure(ctx); err != nil {
			logf.FromContext(ctx).Error(err, "failed to renew webhook certificates")
		}
	}, interval)
	return nil
}

// NeedLeaderElection is false: every replica serves webhooks and needs its certificate files.
func (s *SelfSigned) NeedLeaderElection() bool { return false }

// writeFiles writes the serving pair and the CA only when they changed, so certwatcher reloads
// exactly on rotation.
func writeFiles(dir string, b *Bundle) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("failed to create certificate directory: %w", err)
	}
	for name, data := range map[string][]byte{"ca.crt": b.TrustBundle, keyTLSKey: b.TLSKey, keyTLSCert: b.TLSCert} {
		path := filepath.Join(dir, name)
		if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
			continue
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			return fmt.Errorf("failed to write %s: %w", path, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("failed to write %s: %w", path, err)
		}
	}
	return nil
}
