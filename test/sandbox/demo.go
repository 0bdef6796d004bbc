package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/drsyncer/dr-syncer/test/harness"
)

// step prints a heading, runs kubectl and shows its output. wantFail marks a command that must fail.
type tour struct {
	ctx        context.Context
	source, dr string
	both       string // kubeconfig with both contexts, for the plugin
	kubectl    string
	pause      time.Duration
	n          int
}

func (t *tour) say(format string, args ...any) {
	t.n++
	fmt.Printf("\n── %d. %s\n", t.n, fmt.Sprintf(format, args...))
	time.Sleep(t.pause)
}

func (t *tour) run(kubeconfig string, wantFail bool, args ...string) (string, error) {
	cluster := "source"
	if kubeconfig == t.dr {
		cluster = "dr"
	}
	cmd := exec.CommandContext(t.ctx, t.kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	return show(cmd, fmt.Sprintf("kubectl --context=%s", cluster), wantFail, args)
}

// show prints a command as display plus args, runs it and prints its output indented. wantFail
// marks a command that must fail.
func show(cmd *exec.Cmd, display string, wantFail bool, args []string) (string, error) {
	fmt.Printf("   $ %s %s\n", display, strings.Join(args, " "))
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		fmt.Println("     " + line)
	}
	if wantFail && err == nil {
		return string(out), fmt.Errorf("%s %s should have failed", display, strings.Join(args, " "))
	}
	if !wantFail && err != nil {
		return string(out), fmt.Errorf("%s %s: %w", display, strings.Join(args, " "), err)
	}
	return string(out), nil
}

// plugin runs `kubectl drsyncer args...` through kubectl's plugin discovery (bin/ on PATH).
func (t *tour) plugin(args ...string) (string, error) {
	cmd := exec.CommandContext(t.ctx, t.kubectl, append(append([]string{"drsyncer"}, args...), "--kubeconfig", t.both)...)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(harness.PluginBinary())+string(os.PathListSeparator)+os.Getenv("PATH"))
	return show(cmd, "kubectl drsyncer", false, args)
}

// waitFor polls kubectl until check accepts its output.
func (t *tour) waitFor(kubeconfig string, check func(string) bool, args ...string) (string, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		cmd := exec.CommandContext(t.ctx, t.kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		out, err := cmd.CombinedOutput()
		if err == nil && check(string(out)) {
			return string(out), nil
		}
		if time.Now().After(deadline) {
			return string(out), fmt.Errorf("kubectl %s: not as expected after 30s: %s", strings.Join(args, " "), out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func runDemo(ctx context.Context, mgr *harness.Process, source, dr, both string) error {
	t := &tour{ctx: ctx, source: source, dr: dr, both: both, kubectl: kubectlPath(), pause: 300 * time.Millisecond}
	samples := filepath.Join(harness.RepoRoot(), "config", "samples")
	contains := func(s string) func(string) bool { return func(out string) bool { return strings.Contains(out, s) } }
	steps := []func() error{
		func() error {
			t.say("The DR cluster is registered as RemoteCluster \"dr\" and answers")
			if _, err := t.waitFor(source, contains("True"), "get", "remoteclusters", "dr", "-o", "jsonpath={.status.conditions[0].status}"); err != nil {
				return err
			}
			_, err := t.run(source, false, "get", "remoteclusters")
			return err
		},
		func() error {
			t.say("The platform admin says where opted-in namespaces go: <namespace>-dr on \"dr\", deletions mirrored")
			_, err := t.run(source, false, "apply", "-f", filepath.Join(samples, "clusterreplication.yaml"))
			return err
		},
		func() error {
			t.say("A namespace opts in with one annotation; the webhook labels it")
			if _, err := t.run(source, false, "create", "namespace", "shop"); err != nil {
				return err
			}
			if _, err := t.run(source, false, "annotate", "namespace", "shop", "drsyncer.io/replicate=prod"); err != nil {
				return err
			}
			_, err := t.run(source, false, "get", "namespace", "shop", "--show-labels")
			return err
		},
		func() error {
			t.say("A small app is deployed on the source; every object is labeled for replication")
			if _, err := t.run(source, false, "apply", "-f", filepath.Join(samples, "demo-app.yaml")); err != nil {
				return err
			}
			_, err := t.run(source, false, "-n", "shop", "get", "deploy,svc,cm,secret,ingress,pvc,cronjob", "-l", "drsyncer.io/replication=prod")
			return err
		},
		func() error {
			t.say("On DR: the same app in shop-dr, as a warm standby (replicas 0, CronJob suspended)")
			if _, err := t.waitFor(dr, contains("nightly-report"), "-n", "shop-dr", "get", "cronjob"); err != nil {
				return err
			}
			if _, err := t.run(dr, false, "-n", "shop-dr", "get", "deploy,svc,cm,secret,ingress,pvc,cronjob"); err != nil {
				return err
			}
			out, err := t.run(dr, false, "-n", "shop-dr", "get", "deploy/web", "-o",
				"jsonpath=replicas={.spec.replicas} source-replicas={.metadata.annotations.drsyncer\\.io/source-replicas}{\"\\n\"}")
			if err == nil && !strings.Contains(out, "replicas=0 source-replicas=3") {
				return fmt.Errorf("deploy/web on DR is not a standby: %s", out)
			}
			if err != nil {
				return err
			}
			out, err = t.run(dr, false, "-n", "shop-dr", "get", "cronjob/nightly-report", "-o", "jsonpath=suspend={.spec.suspend}{\"\\n\"}")
			if err == nil && !strings.Contains(out, "suspend=true") {
				return fmt.Errorf("the CronJob on DR is not suspended")
			}
			return err
		},
		func() error {
			t.say("Someone edits the DR copy; dr-syncer sees the drift and corrects it")
			if _, err := t.run(dr, false, "-n", "shop-dr", "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"color":"red"}}`); err != nil {
				return err
			}
			if _, err := t.waitFor(dr, contains("blue"), "-n", "shop-dr", "get", "configmap", "settings", "-o", "jsonpath={.data.color}"); err != nil {
				return err
			}
			if _, err := t.run(dr, false, "-n", "shop-dr", "get", "configmap", "settings", "-o", "jsonpath=color={.data.color}{\"\\n\"}"); err != nil {
				return err
			}
			if _, err := t.waitFor(source, contains("DriftDetected"), "get", "events", "-A", "--field-selector", "reason=DriftDetected"); err != nil {
				return err
			}
			if _, err := t.run(source, false, "get", "events", "-A", "--field-selector", "reason=DriftDetected"); err != nil {
				return err
			}
			line, err := metricLine(mgr, "drsyncer_drift_detected_total")
			fmt.Println("   $ curl -s http://" + mgr.MetricsAddr + "/metrics | grep drsyncer_drift_detected_total")
			fmt.Println("     " + line)
			return err
		},
		func() error {
			t.say("A delete on the source is mirrored (deletionPolicy: Delete; Retain would keep the copy)")
			if _, err := t.run(source, false, "-n", "shop", "delete", "configmap", "settings"); err != nil {
				return err
			}
			_, err := t.waitFor(dr, func(out string) bool { return !strings.Contains(out, "settings") }, "-n", "shop-dr", "get", "configmap")
			if err == nil {
				_, err = t.run(dr, false, "-n", "shop-dr", "get", "configmap")
			}
			return err
		},
		func() error {
			t.say("kubectl get tells the truth")
			_, err := t.run(source, false, "get", "clusterreplications")
			return err
		},
		func() error {
			t.say("An invalid Replication is rejected with the exact fields")
			out, err := t.run(source, true, "apply", "-f", filepath.Join(samples, "invalid-replication.yaml"))
			if err == nil && !strings.Contains(out, "spec.schedule") {
				return fmt.Errorf("the rejection did not name spec.schedule")
			}
			return err
		},
		func() error {
			t.say("The kubectl drsyncer plugin shows each target and how old its copy can be")
			_, err := t.plugin("status")
			return err
		},
		func() error {
			t.say("Failover: promote brings the DR copies to life and fences the replication")
			out, err := t.plugin("promote", "prod", "--target", "dr", "--dr-context", "dr")
			if err == nil && !strings.Contains(out, "Deployment shop-dr/web: replicas 0 → 3") {
				return fmt.Errorf("promote did not scale web to its source's 3 replicas")
			}
			if err == nil {
				_, err = t.run(dr, false, "-n", "shop-dr", "get", "deployment", "web")
			}
			return err
		},
		func() error {
			t.say("Return to standby: demote scales the copies back to zero and resumes mirroring")
			out, err := t.plugin("demote", "prod", "--target", "dr", "--dr-context", "dr")
			if err == nil && !strings.Contains(out, "resumed") {
				return fmt.Errorf("demote did not resume the replication")
			}
			if err == nil {
				_, err = t.run(dr, false, "-n", "shop-dr", "get", "deployment", "web")
			}
			return err
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	fmt.Println("\ndemo finished: every step behaved as shown")
	_ = os.Stdout.Sync()
	return nil
}

// metricLine returns the first sample of a metric from the manager's metrics endpoint.
func metricLine(mgr *harness.Process, name string) (string, error) {
	text, err := mgr.Metrics()
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			return line, nil
		}
	}
	return "", fmt.Errorf("metric %s not found", name)
}
