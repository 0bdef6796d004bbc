package access

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Kubeconfig is a kubeconfig for server (trusting ca) that authenticates with token.
func Kubeconfig(server string, ca []byte, token string) ([]byte, error) {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["dr"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	kc.AuthInfos[ServiceAccount] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["dr"] = &clientcmdapi.Context{Cluster: "dr", AuthInfo: ServiceAccount}
	kc.CurrentContext = "dr"
	return clientcmd.Write(*kc)
}

// BoundToken is what a service account token says about itself. The claims are read, not
// verified: the DR API server verifies the token; dr-syncer only decides when to renew it.
type BoundToken struct {
	Namespace, ServiceAccount string
	IssuedAt, Expires         time.Time
}

// ParseBoundToken reads an expiring service account token (a JWT from the TokenRequest API);
// ok is false for anything else (a static token, a client certificate), which is never renewed.
func ParseBoundToken(token string) (BoundToken, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return BoundToken{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return BoundToken{}, false
	}
	var claims struct {
		Exp, Iat int64
		K8s      struct {
			Namespace      string `json:"namespace"`
			ServiceAccount struct {
				Name string `json:"name"`
			} `json:"serviceaccount"`
		} `json:"kubernetes.io"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == 0 || claims.Iat == 0 || claims.K8s.ServiceAccount.Name == "" {
		return BoundToken{}, false
	}
	return BoundToken{Namespace: claims.K8s.Namespace, ServiceAccount: claims.K8s.ServiceAccount.Name,
		IssuedAt: time.Unix(claims.Iat, 0), Expires: time.Unix(claims.Exp, 0)}, true
}

// RenewAt is when a token is renewed: once two thirds of its life are gone, so that a renewal
// that fails has a third of it left to be retried.
func (t BoundToken) RenewAt() time.Time {
	return t.IssuedAt.Add(2 * t.Expires.Sub(t.IssuedAt) / 3)
}

// Lifetime is how long the token was issued for; a renewal asks for as long.
func (t BoundToken) Lifetime() time.Duration { return t.Expires.Sub(t.IssuedAt) }

// TokenOf returns the bearer token of a kubeconfig's current user ("" when it has none).
func TokenOf(kubeconfig []byte) (string, error) {
	kc, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return "", err
	}
	cur, ok := kc.Contexts[kc.CurrentContext]
	if !ok {
		return "", errors.New("the kubeconfig has no current context")
	}
	if user, ok := kc.AuthInfos[cur.AuthInfo]; ok {
		return user.Token, nil
	}
	return "", nil
}

// WithToken returns the kubeconfig with the current user's token replaced.
func WithToken(kubeconfig []byte, token string) ([]byte, error) {
	kc, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return nil, err
	}
	cur, ok := kc.Contexts[kc.CurrentContext]
	if !ok || kc.AuthInfos[cur.AuthInfo] == nil {
		return nil, errors.New("the kubeconfig has no current user")
	}
	kc.AuthInfos[cur.AuthInfo].Token = token
	return clientcmd.Write(*kc)
}
