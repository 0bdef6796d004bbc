package certs

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/webhook"
)

// TestFileModeHotReload is the cert-manager mode: the webhook server reads tls.crt and tls.key from
// a directory (a mounted Secret), readiness fails until it serves a certificate that verifies against
// ca.crt, and a renewed certificate is served without a restart.
func TestFileModeHotReload(t *testing.T) {
	dir := t.TempDir()
	hosts := []string{"dr-syncer-webhook.dr-syncer-system.svc"}
	now := time.Now()
	first, err := Renew(&Bundle{}, RenewAll, hosts, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFiles(dir, first); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	srv := webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: port, CertDir: dir})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Start(ctx) }()

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ready := ServingChecker(addr, filepath.Join(dir, "ca.crt"), hosts[0])
	eventually(t, func() error { return ready(nil) })

	// A readiness check against another CA fails: the served chain is really verified.
	other, _ := Renew(&Bundle{}, RenewAll, hosts, now)
	otherCA := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(otherCA, other.CACert, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ServingChecker(addr, otherCA, hosts[0])(nil); err == nil {
		t.Fatal("a certificate from another CA must not pass readiness")
	}

	// cert-manager renews: new files in place, served without a restart.
	if err := writeFiles(dir, other); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error { return ServingChecker(addr, otherCA, hosts[0])(nil) })
}

func eventually(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within 20s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
