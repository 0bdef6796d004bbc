// Package clusters turns RemoteClusters into clients and caches of the DR clusters: it parses
// kubeconfigs and refuses the parts that could run code or read files in the controller's pod,
// and keeps one client and one cache (of the objects dr-syncer manages) per cluster, rebuilt when
// the kubeconfig or the rate limits change.
package clusters

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Policy lists the kubeconfig features an admin allowed with manager flags; all are refused by
// default because a kubeconfig in a Secret could otherwise run code or read files in the pod.
type Policy struct {
	AllowExec           bool
	AllowAuthProvider   bool
	AllowFileReferences bool
	AllowInsecure       bool
	AllowProxy          bool
	AllowHTTP           bool
	AllowLinkLocal      bool
}

// ErrRefused marks a kubeconfig refused by Policy; the message says which feature and how to allow it.
var ErrRefused = errors.New("kubeconfig refused")

// RESTConfig parses a kubeconfig's current context into a client config, refusing what p does not allow.
func RESTConfig(kubeconfig []byte, p Policy) (*rest.Config, error) {
	cfg, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig does not parse: %w", err)
	}
	ctxName := cfg.CurrentContext
	kctx, ok := cfg.Contexts[ctxName]
	if !ok {
		return nil, fmt.Errorf("kubeconfig has no current context (current-context %q)", ctxName)
	}
	cluster, ok := cfg.Clusters[kctx.Cluster]
	if !ok {
		return nil, fmt.Errorf("kubeconfig context %q names cluster %q, which it does not define", ctxName, kctx.Cluster)
	}
	user := cfg.AuthInfos[kctx.AuthInfo]
	var refused []string
	if user != nil {
		if user.Exec != nil && !p.AllowExec {
			refused = append(refused, "an exec credential plugin (--allow-kubeconfig-exec)")
		}
		if user.AuthProvider != nil && !p.AllowAuthProvider {
			refused = append(refused, "an auth-provider plugin (--allow-kubeconfig-auth-provider)")
		}
		if (user.TokenFile != "" || user.ClientCertificate != "" || user.ClientKey != "") && !p.AllowFileReferences {
			refused = append(refused, "file references for credentials (--allow-kubeconfig-files)")
		}
	}
	if cluster.CertificateAuthority != "" && !p.AllowFileReferences {
		refused = append(refused, "a file reference for the CA (--allow-kubeconfig-files)")
	}
	if cluster.InsecureSkipTLSVerify && !p.AllowInsecure {
		refused = append(refused, "insecure-skip-tls-verify (--allow-kubeconfig-insecure)")
	}
	if cluster.ProxyURL != "" && !p.AllowProxy {
		refused = append(refused, "proxy-url (--allow-kubeconfig-proxy)")
	}
	refused = append(refused, serverRefusals(cluster.Server, p)...)
	if len(refused) > 0 {
		return nil, fmt.Errorf("%w: it uses %s", ErrRefused, strings.Join(refused, ", "))
	}
	rc, err := clientcmd.NewNonInteractiveClientConfig(*cfg, ctxName, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig is incomplete: %w", err)
	}
	rc.Dial = guardedDial(p)
	return rc, nil
}
