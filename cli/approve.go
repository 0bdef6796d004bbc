package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

func (o *options) approveDeletesCommand() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "approve-deletes NAME",
		Short: "Let the next pass delete the copies the mass-delete breaker holds back, and wait for it",
		Long: `approve-deletes sets the drsyncer.io/approve-deletes annotation of the replication to a new value:
the next pass deletes every copy whose source is confirmed gone, whatever the mass-delete breaker
says, once. Check first what would go: ` + "`kubectl drsyncer diff NAME --target T`" + ` lists the orphans. The
command waits until status.lastHandledDeleteApproval shows the value and prints the pass's result.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.runApproveDeletes(cmd.Context(), args[0], timeout)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "How long to wait for the pass.")
	return cmd
}

func (o *options) runApproveDeletes(ctx context.Context, name string, timeout time.Duration) error {
	c, err := o.sourceClient()
	if err != nil {
		return err
	}
	r, err := o.getReplication(ctx, c, name)
	if err != nil {
		return err
	}
	if r.spec.DeletionPolicy != v1alpha1.DeletionDelete {
		return fmt.Errorf("%s %s has deletionPolicy %s: it deletes no copies, so there is nothing to approve", r.kind(), r.ref(), r.spec.DeletionPolicy)
	}
	if err := o.requestAndWait(ctx, c, r, keys.AnnotationApproveDeletes, "approved deletes", timeout,
		func() string { return r.status.LastHandledDeleteApproval }); err != nil {
		return err
	}
	o.printTargets(r)
	if st := meta.FindStatusCondition(r.status.Conditions, v1alpha1.ConditionStalled); st != nil && st.Status == "True" {
		return fmt.Errorf("%s is still stalled: %s", r.ref(), st.Message)
	}
	fmt.Fprintf(o.out, "approved deletes of %s handled\n", r.ref())
	return nil
}
