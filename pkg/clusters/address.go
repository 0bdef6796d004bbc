package clusters

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// metadataAddresses are cloud instance-metadata endpoints outside the link-local ranges.
var metadataAddresses = []netip.Addr{netip.MustParseAddr("fd00:ec2::254")}

// isLinkLocal reports whether ip is link-local (169.254.0.0/16, fe80::/10, where cloud metadata
// services answer with the node's credentials) or a known metadata address.
func isLinkLocal(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip == metadataAddresses[0]
}

// serverRefusals says what of a kubeconfig's server URL p does not allow: plain http (Secrets
// and tokens would cross the network in clear text) and link-local or metadata addresses.
func serverRefusals(server string, p Policy) []string {
	u, err := url.Parse(server)
	if err != nil {
		return nil // clientcmd reports a malformed server
	}
	var refused []string
	if u.Scheme == "http" && !p.AllowHTTP {
		refused = append(refused, "a plain http:// server (--allow-kubeconfig-http)")
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil && isLinkLocal(ip) && !p.AllowLinkLocal {
		refused = append(refused, "a link-local or cloud metadata address "+u.Hostname()+" (--allow-kubeconfig-link-local)")
	}
	return refused
}

// guardedDial refuses connections to link-local and metadata addresses, wherever the name
// resolves (metadata.google.internal is 169.254.169.254), unless p allows them.
func guardedDial(p Policy) func(ctx context.Context, network, address string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if !p.AllowLinkLocal {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err == nil && isLinkLocal(ap.Addr()) {
				return fmt.Errorf("%w: the server resolves to the link-local or cloud metadata address %s (--allow-kubeconfig-link-local)", ErrRefused, ap.Addr())
			}
			return nil
		}
	}
	return d.DialContext
}

// BriefError is an error as a condition message shows it: one line, at most 200 characters, and
// for an error the API server answered, its status alone, never a response body, which could
// carry what a proxy or a misconfigured server echoes back (tokens among it).
func BriefError(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		s := status.Status()
		return fmt.Sprintf("the server answered %d %s", s.Code, s.Reason)
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if len(msg) > 200 {
		msg = msg[:197] + "..."
	}
	return msg
}
