package clusters

import (
	"errors"
	"strings"
	"testing"
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
