// Package certs provides the webhook server's certificates: a self-signed mode that keeps a CA and
// a serving certificate in a Secret, patches the caBundle into the webhook configurations and
// rotates before expiry; and a file mode for certificates that cert-manager mounts (hot-reloaded
// by controller-runtime's certwatcher). Both feed a readiness check that verifies the served chain.
package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Lifetimes of what the self-signed mode issues. Renewal starts when a third of the lifetime is left.
const (
	CALifetime      = 10 * 365 * 24 * time.Hour
	ServingLifetime = 365 * 24 * time.Hour
)

// Bundle is a CA and a serving certificate, PEM encoded, plus the CA bundle clients trust
// (the current CA and, after a CA rotation, the previous one).
type Bundle struct {
	CACert, CAKey   []byte
	TLSCert, TLSKey []byte
	TrustBundle     []byte
}

// Renewal says what a bundle needs at time now.
type Renewal int

const (
	RenewNothing Renewal = iota
	RenewServing
	RenewAll
)

// NeedsRenewal decides, purely, what must be reissued: everything when the CA is missing, broken or
// in the last third of its life; the serving certificate when it is, or when it does not cover hosts.
func NeedsRenewal(b *Bundle, hosts []string, now time.Time) Renewal {
	ca, err := parseCert(b.CACert)
	if err != nil || inLastThird(ca, now) {
		return RenewAll
	}
	leaf, err := parseCert(b.TLSCert)
	if err != nil || inLastThird(leaf, now) || leaf.CheckSignatureFrom(ca) != nil {
		return RenewServing
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return RenewServing
		}
	}
	return RenewNothing
}

func inLastThird(c *x509.Certificate, now time.Time) bool {
	life := c.NotAfter.Sub(c.NotBefore)
	return now.After(c.NotAfter.Add(-life / 3))
}

// Renew returns a bundle with what r asks reissued. A new CA keeps the previous one in the trust
// bundle, so that clients holding the old caBundle keep working through the rotation.
func Renew(old *Bundle, r Renewal, hosts []string, now time.Time) (*Bundle, error) {
	b := *old
	if r == RenewAll {
		caCert, caKey, err := newCA(now)
		if err != nil {
			return nil, err
		}
		b.TrustBundle = caCert
		if prev, err := parseCert(old.CACert); err == nil && now.Before(prev.NotAfter) {
			b.TrustBundle = append(append([]byte{}, caCert...), old.CACert...)
		}
		b.CACert, b.CAKey = caCert, caKey
	}
	if r >= RenewServing {
		cert, key, err := newServing(b.CACert, b.CAKey, hosts, now)
		if err != nil {
			return nil, err
		}
		b.TLSCert, b.TLSKey = cert, key
	}
	if len(b.TrustBundle) == 0 {
		b.TrustBundle = b.CACert
	}
	return &b, nil
}

func newCA(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to generate the CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "dr-syncer-webhook-ca", Organization: []string{"dr-syncer"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create the CA certificate: %w", err)
	}
	return encode(der, key)
}

func newServing(caCertPEM, caKeyPEM []byte, hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	ca, err := parseCert(caCertPEM)
	if err != nil {
		return nil, nil, err
	}
	caKey, err := parseKey(caKeyPEM)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to generate the serving key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"dr-syncer"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(ServingLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create the serving certificate: %w", err)
	}
	return encode(der, key)
}

func encode(der []byte, key *ecdsa.PrivateKey) (certPEM, keyPEM []byte, err error) {
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to encode a key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func parseCert(p []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(p)
	if block == nil {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseKey(p []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(p)
	if block == nil {
		return nil, errors.New("no PEM key")
	}
	return x509.ParseECPrivateKey(block.Bytes)
}

// Pool returns a cert pool from PEM certificates.
func Pool(pemCerts []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(bytes.TrimSpace(pemCerts)) {
		return nil, errors.New("no certificate in the CA bundle")
	}
	return pool, nil
}
