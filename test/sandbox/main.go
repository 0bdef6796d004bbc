// Command sandbox starts a source and a DR control plane (real kube-apiserver and etcd), runs
// dr-syncer against the source with its webhooks registered, registers the DR plane as
// RemoteCluster "dr", writes .sandbox/{source,dr}.kubeconfig and waits for Ctrl-C. With --demo it
// runs a scripted tour with kubectl and exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/drsyncer/dr-syncer/test/harness"
)

func main() {
	demo := flag.Bool("demo", false, "run the scripted tour, then stop")
	dir := flag.String("dir", ".sandbox", "where to write the kubeconfigs")
	verbose := flag.Bool("v", false, "show dr-syncer's logs")
	flag.Parse()
	if *verbose {
		ctrl.SetLogger(zap.New(zap.UseDevMode(true)))
	} else {
		ctrl.SetLogger(zap.New(zap.WriteTo(devNull{})))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, *dir, *demo)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string, demo bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	logPath := filepath.Join(dir, "manager.log")
	logs, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logs.Close()
	fmt.Printf("starting a source and a DR control plane, and dr-syncer (%s) with self-signed webhook certificates; logs in %s ...\n",
		harness.ManagerBinary(), logPath)
	env, mgr, err := harness.StartWithProcess(ctx, dir, logs)
	if err != nil {
		return err
	}
	// Every exit path stops the manager and the control planes: nothing outlives the sandbox.
	defer env.Stop()
	defer mgr.Stop()
	source, dr := filepath.Join(dir, "source.kubeconfig"), filepath.Join(dir, "dr.kubeconfig")
	for path, plane := range map[string]string{source: "source", dr: "dr"} {
		p := env.Source
		if plane == "dr" {
			p = env.DR
		}
		kc, err := env.Kubeconfig(p, "sandbox-admin")
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, kc, 0o600); err != nil {
			return err
		}
	}
	// One kubeconfig with both contexts, as a user of kubectl drsyncer has.
	both := filepath.Join(dir, "kubeconfig")
	kc, err := env.UserKubeconfig("sandbox-admin", "")
	if err != nil {
		return err
	}
	if err := os.WriteFile(both, kc, 0o600); err != nil {
		return err
	}
	if demo {
		return runDemo(ctx, mgr, source, dr, both)
	}
	kubectl := kubectlPath()
	fmt.Printf(`
Two clusters are up. Try:
  %[1]s --kubeconfig %[2]s get remoteclusters
  %[1]s --kubeconfig %[2]s create namespace shop
  %[1]s --kubeconfig %[2]s annotate namespace shop drsyncer.io/replicate=prod
  %[1]s --kubeconfig %[2]s apply -f config/samples/clusterreplication.yaml
  %[1]s --kubeconfig %[2]s -n shop create configmap app --from-literal=color=blue
  %[1]s --kubeconfig %[2]s -n shop get configmap app --show-labels
  %[1]s --kubeconfig %[2]s apply -f config/samples/invalid-replication.yaml
  %[1]s --kubeconfig %[3]s get namespaces
  curl -s http://%[4]s/metrics | grep ^drsyncer_
  PATH=$PWD/bin:$PATH %[1]s drsyncer status --kubeconfig %[5]s
  PATH=$PWD/bin:$PATH %[1]s drsyncer promote prod --target dr --kubeconfig %[5]s --dr-context dr --dry-run
sandbox ready (Ctrl-C stops everything)
`, kubectl, source, dr, mgr.MetricsAddr, both)
	<-ctx.Done()
	fmt.Println("stopping ...")
	return nil
}

type devNull struct{}

func (devNull) Write(p []byte) (int, error) { return len(p), nil }

func kubectlPath() string {
	if assets := os.Getenv("KUBEBUILDER_ASSETS"); assets != "" {
		return filepath.Join(assets, "kubectl")
	}
	return filepath.Join(harness.RepoRoot(), "bin", "k8s", "kubectl")
}
