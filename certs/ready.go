package certs

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// ServingChecker is a readiness check that passes only when the webhook server at addr serves a
// certificate that verifies against the CA in caFile for host. Before the certificates exist or
// while a served certificate is invalid, the pod is not ready and receives no admission traffic.
func ServingChecker(addr, caFile, host string) func(*http.Request) error {
	return func(*http.Request) error {
		ca, err := os.ReadFile(filepath.Clean(caFile))
		if err != nil {
			return fmt.Errorf("no CA to verify the webhook certificate: %w", err)
		}
		pool, err := Pool(ca)
		if err != nil {
			return err
		}
		d := &net.Dialer{Timeout: 2 * time.Second}
		conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12})
		if err != nil {
			return fmt.Errorf("webhook server does not serve a valid certificate yet: %w", err)
		}
		return conn.Close()
	}
}
