// Command bench measures dr-syncer against the DR kube-apiserver's own limit: two real control
// planes, the real manager binary, and figures compared with targets. `make bench` runs it; a
// missed target makes it exit non-zero naming the figure. With $BENCH_OUT set, the figures are
// also written there as JSON.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/drsyncer/dr-syncer/test/harness"
)

// figure is one measured number and, when it has one, its target.
type figure struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target,omitempty"`
	Met    *bool   `json:"met,omitempty"`
	Note   string  `json:"note,omitempty"`
}

type report struct {
	Machine string   `json:"machine"`
	Date    string   `json:"date"`
	Figures []figure `json:"figures"`
}

func (r *report) add(f figure) {
	r.Figures = append(r.Figures, f)
	met := ""
	if f.Met != nil {
		met = map[bool]string{true: "met", false: "MISSED"}[*f.Met]
	}
	fmt.Printf("  %-52s %12.2f %-8s %-14s %s %s\n", f.Name, f.Value, f.Unit, f.Target, met, f.Note)
}

func atLeast(v, target float64) *bool { ok := v >= target; return &ok }
func atMost(v, target float64) *bool  { ok := v <= target; return &ok }

func main() {
	scale := flag.Bool("scale", true, "run the 10,000-object, 2-target scale figure")
	pin := flag.Bool("pin", true, "run the DR control plane on CPUs of its own (half of them), as a cluster of its own would")
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.WriteTo(discard{})))
	ctx := context.Background()
	rep := &report{Machine: fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU()), Date: time.Now().UTC().Format(time.RFC3339)}
	if err := run(ctx, rep, *scale, *pin); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if out := os.Getenv("BENCH_OUT"); out != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(out, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	var missed []string
	for _, f := range rep.Figures {
		if f.Met != nil && !*f.Met {
			missed = append(missed, fmt.Sprintf("%s = %.2f %s (target %s)", f.Name, f.Value, f.Unit, f.Target))
		}
	}
	if len(missed) > 0 {
		fmt.Fprintln(os.Stderr, "targets missed:\n  "+strings.Join(missed, "\n  "))
		os.Exit(1)
	}
	fmt.Println("every target met")
}

func run(ctx context.Context, rep *report, scale, pin bool) error {
	dir, err := os.MkdirTemp("", "drsyncer-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logs, err := os.Create(filepath.Join(dir, "manager.log"))
	if err != nil {
		return err
	}
	defer logs.Close()
	others, drCPUs := cpuSplit()
	pin = pin && drCPUs != nil
	if pin {
		// Before anything starts: the planes and the manager inherit the set.
		if err := pinProcess(os.Getpid(), others); err != nil {
			return err
		}
	}
	env, mgr, err := harness.StartWithProcess(ctx, dir, logs)
	if err != nil {
		return err
	}
	defer env.Stop()
	defer mgr.Stop()
	if pin {
		if err := pinDRPlane(env, drCPUs); err != nil {
			return err
		}
		rep.Machine += fmt.Sprintf("; DR control plane on CPU %s, source plane, manager and load on CPU %s", cpuList(drCPUs), cpuList(others))
	}
	b := &bench{env: env, mgr: mgr, rep: rep}
	if err := b.waitReady(ctx); err != nil {
		return err
	}
	fmt.Printf("dr-syncer benchmarks on %s\n\n  %-52s %12s %-8s %-14s\n", rep.Machine, "figure", "value", "unit", "target")
	steps := []func(context.Context) error{b.measureEmptyHeap, b.initialSync, b.unchangedPass, b.memory, b.moreSyncRounds, b.uncoveredWrites, b.propagationLag, b.driftLag}
	if scale {
		steps = append(steps, b.scale)
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// pinDRPlane moves the DR plane's etcd and kube-apiserver to cpus.
func pinDRPlane(env *harness.Env, cpus []int) error {
	api, err := url.Parse(env.DRConfig.Host)
	if err != nil {
		return err
	}
	etcd := processesWithArg("--listen-client-urls=", env.DR.ControlPlane.Etcd.URL.Host)
	apiserver := processesWithArg("--secure-port=" + api.Port())
	if len(etcd) != 1 || len(apiserver) != 1 {
		return fmt.Errorf("cannot tell the DR plane's processes (etcd %v, kube-apiserver %v); run with --pin=false", etcd, apiserver)
	}
	for _, pid := range append(etcd, apiserver...) {
		if err := pinProcess(pid, cpus); err != nil {
			return err
		}
	}
	return nil
}

func cpuList(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}
