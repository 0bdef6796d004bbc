// Command manager runs dr-syncer: admission webhooks and controllers that keep a warm DR copy of
// namespaces in other clusters.
package main

import (
	"flag"
	"log"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/drsyncer/dr-syncer/manager"
)

func main() {
	opts := manager.BindFlags(flag.CommandLine)
	flag.Parse()
	logger := opts.Logger()
	ctrl.SetLogger(logger)
	// Libraries that log through the standard logger end up in the same structured stream.
	log.SetFlags(0)
	log.SetOutput(stdlogWriter{logger})

	ctx := ctrl.SetupSignalHandler()
	cfg, err := ctrl.GetConfig()
	if err != nil {
		logger.Error(err, "no kubeconfig: set --kubeconfig or $KUBECONFIG, or run in a cluster")
		os.Exit(1)
	}
	mgr, err := manager.New(ctx, cfg, *opts)
	if err != nil {
		logger.Error(err, "failed to set up dr-syncer")
		os.Exit(1)
	}
	logger.Info("starting dr-syncer", "namespace", opts.Namespace, "certMode", opts.CertMode, "leaderElect", opts.LeaderElect)
	if err := mgr.Start(ctx); err != nil {
		logger.Error(err, "manager stopped with an error")
		os.Exit(1)
	}
}
