// Package install installs the chart the way a user does (`helm install`) and runs dr-syncer the
// way the chart's Deployment runs it: the container's args, env and Secret volumes as the API
// server holds them, the credentials of the chart's ServiceAccount, and the webhooks reached by the
// API server through the chart's Service. envtest has no kubelet, no endpoints controller and no
// cert-manager; the test plays exactly those parts (kubelet_test.go, certmanager_test.go) and
// nothing else.
//
// The API server refuses loopback and link-local endpoint addresses, so the test runs in a network
// namespace of its own (it re-executes itself there; CI runs as root), where the "pod" has the
// address podIP from the documentation range. No traffic leaves that namespace.
package install

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// podIP is the manager's address inside the test's network namespace (TEST-NET-1, RFC 5737).
const podIP = "192.0.2.10"

const inNetns = "DRSYNCER_INSTALL_NETNS"

// skipReason is set when the network namespace cannot be had (not root).
var skipReason string

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(inNetns) != "":
		if err := podNetwork(); err != nil {
			fmt.Fprintln(os.Stderr, "install tests: cannot set up the pod network:", err)
			os.Exit(1)
		}
	case os.Geteuid() == 0:
		os.Exit(inNetworkNamespace())
	default:
		skipReason = "needs root to create a network namespace for the pod address (CI runs as root)"
	}
	os.Exit(m.Run())
}

// inNetworkNamespace runs this test binary again, with the same arguments, in a new network
// namespace, and returns its exit code.
func inNetworkNamespace() int {
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Env = append(os.Environ(), inNetns+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "install tests: cannot run in a network namespace:", err)
		return 1
	}
	return 0
}

// podNetwork brings up the loopback interface of the new namespace (the control planes listen on
// 127.0.0.1) and gives it podIP as a second address, the "pod"'s.
func podNetwork() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	lo, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, lo); err != nil {
		return fmt.Errorf("read lo's flags: %w", err)
	}
	lo.SetUint16(lo.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, lo); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	pod, err := unix.NewIfreq("lo:pod")
	if err != nil {
		return err
	}
	if err := pod.SetInet4Addr(net.ParseIP(podIP).To4()); err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFADDR, pod); err != nil {
		return fmt.Errorf("add %s: %w", podIP, err)
	}
	return nil
}

func skipUnlessPodNetwork(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}
