package clusters

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

const base = `apiVersion: v1
kind: Config
current-context: dr
contexts:
- name: dr
  context: {cluster: dr, user: admin}
clusters:
- name: dr
  cluster:
    server: https://dr.example:6443
%s
users:
- name: admin
  user:
%s
`

func kubeconfig(clusterExtra, user string) []byte {
	if user == "" {
		user = "    token: abc"
	}
	return []byte(sprintf(base, clusterExtra, user))
}

// server is a kubeconfig whose server is url.
func server(url string) []byte {
	return []byte(strings.Replace(string(kubeconfig("", "")), "https://dr.example:6443", url, 1))
}

func sprintf(f string, a ...any) string {
	s := f
	for _, x := range a {
		s = strings.Replace(s, "%s", x.(string), 1)
	}
	return s
}

func TestRESTConfig(t *testing.T) {
	exec := "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n      args: [-c, id]\n      interactiveMode: Never"
	authProvider := "    auth-provider:\n      name: oidc\n      config: {idp-issuer-url: https://issuer}"
	tests := []struct {
		name    string
		in      []byte
		policy  Policy
		wantErr string
		refused bool
	}{
		{"token", kubeconfig("", ""), Policy{}, "", false},
		{"exec refused", kubeconfig("", exec), Policy{}, "exec credential plugin", true},
		{"exec allowed", kubeconfig("", exec), Policy{AllowExec: true}, "", false},
		{"auth provider refused", kubeconfig("", authProvider), Policy{}, "auth-provider", true},
		{"token file refused", kubeconfig("", "    tokenFile: /var/run/secrets/token"), Policy{}, "file references", true},
		{"client cert file refused", kubeconfig("", "    client-certificate: /etc/cert.pem\n    client-key: /etc/key.pem"), Policy{}, "file references", true},
		{"CA file refused", kubeconfig("    certificate-authority: /etc/ca.pem", ""), Policy{}, "CA", true},
		{"insecure refused", kubeconfig("    insecure-skip-tls-verify: true", ""), Policy{}, "insecure-skip-tls-verify", true},
		{"insecure allowed", kubeconfig("    insecure-skip-tls-verify: true", ""), Policy{AllowInsecure: true}, "", false},
		{"proxy refused", kubeconfig("    proxy-url: http://proxy:3128", ""), Policy{}, "proxy-url", true},
		{"plain http refused", server("http://dr.example:6443"), Policy{}, "plain http://", true},
		{"metadata address refused", server("https://169.254.169.254"), Policy{}, "link-local or cloud metadata address 169.254.169.254", true},
		{"IPv6 link-local refused", server("https://[fe80::1]:6443"), Policy{}, "link-local", true},
		{"IPv6 metadata refused", server("https://[fd00:ec2::254]"), Policy{}, "link-local", true},
		{"IPv4-mapped metadata refused", server("https://[::ffff:169.254.169.254]"), Policy{}, "link-local", true},
		{"garbage", []byte("{{{"), Policy{}, "does not parse", false},
		{"no current context", []byte("apiVersion: v1\nkind: Config\n"), Policy{}, "no current context", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := RESTConfig(tt.in, tt.policy)
			if tt.wantErr == "" {
				if err != nil || cfg.Host != "https://dr.example:6443" {
					t.Fatalf("RESTConfig() = %v, %v", cfg, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if errors.Is(err, ErrRefused) != tt.refused {
				t.Fatalf("errors.Is(err, ErrRefused) = %v, want %v", !tt.refused, tt.refused)
			}
		})
	}
}

func TestAllowedAddresses(t *testing.T) {
	for _, tt := range []struct {
		url    string
		policy Policy
	}{
		{"http://dr.example:6443", Policy{AllowHTTP: true}},
		{"https://169.254.169.254", Policy{AllowLinkLocal: true}},
		{"https://10.0.0.1:6443", Policy{}},
		{"https://[2001:db8::1]:6443", Policy{}},
	} {
		if _, err := RESTConfig(server(tt.url), tt.policy); err != nil {
			t.Errorf("%s: %v", tt.url, err)
		}
	}
}

func TestGuardedDialRefusesLinkLocal(t *testing.T) {
	dial := guardedDial(Policy{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := dial(ctx, "tcp", "169.254.169.254:80")
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("dial to the metadata address: %v, want a refusal", err)
	}
}

func TestBriefError(t *testing.T) {
	body := errors.New("an error from the server (Unauthorized): " + strings.Repeat("token=s3cr3t ", 40))
	if got := BriefError(body); len(got) > 200 || strings.Contains(got, "\n") {
		t.Errorf("BriefError() = %q: more than one short line", got)
	}
	status := apierrors.NewUnauthorized("token=s3cr3t echoed back")
	if got := BriefError(fmt.Errorf("probe: %w", status)); strings.Contains(got, "s3cr3t") || !strings.Contains(got, "401") {
		t.Errorf("BriefError() = %q: want the status without the body", got)
	}
}
