package certs

import (
	"crypto/x509"
	"testing"
	"time"
)

func TestRenewalLifecycle(t *testing.T) {
	hosts := []string{"dr-syncer-webhook.dr-syncer-system.svc", "127.0.0.1"}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	if r := NeedsRenewal(&Bundle{}, hosts, now); r != RenewAll {
		t.Fatalf("empty bundle: got %v, want RenewAll", r)
	}
	b, err := Renew(&Bundle{}, RenewAll, hosts, now)
	if err != nil {
		t.Fatal(err)
	}
	if r := NeedsRenewal(b, hosts, now); r != RenewNothing {
		t.Fatalf("fresh bundle: got %v, want RenewNothing", r)
	}
	pool, err := Pool(b.TrustBundle)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := parseCert(b.TLSCert)
	for _, h := range hosts {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: h, CurrentTime: now}); err != nil {
			t.Fatalf("serving certificate does not verify for %s: %v", h, err)
		}
	}
	if r := NeedsRenewal(b, append(hosts, "other.example"), now); r != RenewServing {
		t.Fatalf("new host: got %v, want RenewServing", r)
	}

	// Serving certificate in its last third: only it is reissued, by the same CA.
	later := now.Add(ServingLifetime * 3 / 4)
	if r := NeedsRenewal(b, hosts, later); r != RenewServing {
		t.Fatalf("aging serving cert: got %v, want RenewServing", r)
	}
	b2, err := Renew(b, RenewServing, hosts, later)
	if err != nil {
		t.Fatal(err)
	}
	if string(b2.CACert) != string(b.CACert) || string(b2.TrustBundle) != string(b.TrustBundle) || string(b2.TLSCert) == string(b.TLSCert) {
		t.Fatal("serving renewal must keep the CA and the trust bundle and change the serving certificate")
	}

	// CA in its last third: a new CA, and the trust bundle keeps the old one.
	muchLater := now.Add(CALifetime * 3 / 4)
	if r := NeedsRenewal(b2, hosts, muchLater); r != RenewAll {
		t.Fatalf("aging CA: got %v, want RenewAll", r)
	}
	b3, err := Renew(b2, RenewAll, hosts, muchLater)
	if err != nil {
		t.Fatal(err)
	}
	oldPool, _ := Pool(b.CACert)
	newPool, _ := Pool(b3.CACert)
	trust, _ := Pool(b3.TrustBundle)
	leaf3, _ := parseCert(b3.TLSCert)
	if _, err := leaf3.Verify(x509.VerifyOptions{Roots: newPool, DNSName: hosts[0], CurrentTime: muchLater}); err != nil {
		t.Fatalf("new serving certificate not signed by the new CA: %v", err)
	}
	if _, err := leaf3.Verify(x509.VerifyOptions{Roots: oldPool, DNSName: hosts[0], CurrentTime: muchLater}); err == nil {
		t.Fatal("new serving certificate must not verify against the old CA")
	}
	old := leaf // still served by replicas that have not reloaded yet
	if _, err := old.Verify(x509.VerifyOptions{Roots: trust, DNSName: hosts[0], CurrentTime: now}); err != nil {
		t.Fatalf("trust bundle must still accept the previous CA during rotation: %v", err)
	}
}
