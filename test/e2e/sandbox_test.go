package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drsyncer/dr-syncer/test/harness"
)

// TestSandboxStopsEverything runs `make sandbox`'s program, waits for "sandbox ready", sends
// SIGINT and checks that no process it started (manager, kube-apiservers, etcds) is left.
func TestSandboxStopsEverything(t *testing.T) {
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "sandbox")
	build := exec.Command("go", "build", "-o", bin, "./test/sandbox")
	build.Dir = harness.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// Everything the sandbox starts keeps its files under tmp (envtest's under this TMPDIR, the
	// manager's in the state directory), so each of its processes names tmp on its command line.
	scratch := filepath.Join(tmp, "scratch")
	must(t, os.MkdirAll(scratch, 0o700))
	cmd := exec.Command(bin, "--dir", filepath.Join(tmp, "state"))
	cmd.Dir = harness.RepoRoot()
	cmd.Env = append(os.Environ(), "TMPDIR="+scratch)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = cmd.Stdout
	must(t, cmd.Start())
	ready := make(chan bool, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			if strings.Contains(s.Text(), "sandbox ready") {
				ready <- true
			}
		}
		close(ready)
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("the sandbox exited before it was ready")
		}
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("no \"sandbox ready\" within 3 minutes")
	}
	if n := processesNaming(tmp); n < 6 {
		t.Fatalf("expected the sandbox, the manager, two kube-apiservers and two etcds naming %s, found %d processes", tmp, n)
	}
	must(t, cmd.Process.Signal(syscall.SIGINT))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the sandbox did not exit cleanly on SIGINT: %v", err)
		}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("the sandbox did not stop within 2 minutes of SIGINT")
	}
	if n := processesNaming(tmp); n != 0 {
		t.Fatalf("%d processes outlived the sandbox", n)
	}
}

// processesNaming counts the processes whose command line contains s.
func processesNaming(s string) int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), s) {
			n++
		}
	}
	return n
}
