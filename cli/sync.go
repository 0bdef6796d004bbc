package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

func (o *options) syncCommand() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "sync NAME",
		Short: "Request a pass now and wait until dr-syncer reports it; non-zero exit if it failed",
		Long: `sync sets the drsyncer.io/sync-requested-at annotation of the replication to a new value, which
makes dr-syncer run one pass in any mode, and waits until status.lastHandledSyncRequest shows that
value. It then prints the pass's result per target and exits non-zero if any target failed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.runSync(cmd.Context(), args[0], timeout)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "How long to wait for the pass.")
	return cmd
}

// requestAndWait sets annotation on the replication to a new value and waits until the
// controller reports that value handled; what names the request in messages.
func (o *options) requestAndWait(ctx context.Context, c client.Client, r *replication, annotation, what string, timeout time.Duration, handled func() string) error {
	request := o.now().UTC().Format(time.RFC3339Nano)
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, annotation, request)
	if err := c.Patch(ctx, r.obj, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(FieldManager)); err != nil {
		return fmt.Errorf("failed to request %s of %s: %w", what, r.ref(), err)
	}
	fmt.Fprintf(o.errOut, "requested %s of %s %s (%s)\n", what, r.kind(), r.ref(), request)
	start := time.Now()
	progress := newProgress(o.errOut, "waiting for the pass", 0)
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		progress.note(fmt.Sprintf("%.0fs", time.Since(start).Seconds()))
		if err := c.Get(ctx, client.ObjectKeyFromObject(r.obj), r.obj); err != nil {
			return false, nil // transient: keep waiting until the timeout
		}
		return handled() == request, nil
	})
	progress.finish()
	if err != nil {
		return fmt.Errorf("dr-syncer did not report %s of %s within %s (is the controller running?)", what, r.ref(), timeout)
	}
	return nil
}

// printTargets prints the last pass's result per target.
func (o *options) printTargets(r *replication) {
	for _, ts := range r.status.Targets {
		fmt.Fprintf(o.out, "  %s: %d synced, %d drifted, %d failed, %d conflicts, %d promoted, %d retained\n",
			ts.Cluster, ts.Synced, ts.Drifted, ts.Failed, ts.Conflicts, ts.Promoted, ts.Retained)
		for _, p := range ts.Problems {
			fmt.Fprintf(o.out, "    %s %s/%s: %s %s\n", p.Kind, p.Namespace, p.Name, p.Reason, p.Message)
		}
	}
}

func (o *options) runSync(ctx context.Context, name string, timeout time.Duration) error {
	c, err := o.sourceClient()
	if err != nil {
		return err
	}
	r, err := o.getReplication(ctx, c, name)
	if err != nil {
		return err
	}
	if r.spec.Suspend {
		return fmt.Errorf("%s %s is suspended (spec.suspend, or fenced by promote): no pass runs until it is resumed", r.kind(), r.ref())
	}
	start := time.Now()
	if err := o.requestAndWait(ctx, c, r, keys.AnnotationSyncRequestedAt, "a pass", timeout,
		func() string { return r.status.LastHandledSyncRequest }); err != nil {
		return err
	}
	fmt.Fprintf(o.out, "pass of %s handled in %s\n", r.ref(), time.Since(start).Round(time.Millisecond))
	o.printTargets(r)
	var failed []string
	if c := meta.FindStatusCondition(r.status.Conditions, v1alpha1.ConditionSynced); c == nil || c.Status != "True" {
		if ready := meta.FindStatusCondition(r.status.Conditions, v1alpha1.ConditionReady); ready != nil {
			failed = append(failed, ready.Message)
		}
		return fmt.Errorf("the pass of %s failed: %w", r.ref(), errors.New(strings.Join(failed, "; ")))
	}
	return nil
}
