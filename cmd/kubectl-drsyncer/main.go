// Command kubectl-drsyncer is the `kubectl drsyncer` plugin: put it on PATH and run
// `kubectl drsyncer --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/drsyncer/dr-syncer/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
