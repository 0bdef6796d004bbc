package cli

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

func (o *options) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status [NAME]",
		Short: "Show every replication and target: objects in sync, drifted, failed, conflicts, last sync and recovery point",
		Long: `status reads the replications' status on the source cluster and prints one row per replication
and target. RECOVERY-POINT is how old the DR copy can be: "current" for a healthy Continuous target
(every change is mirrored as it happens), otherwise the time since the target's last complete pass.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.sourceClient()
			if err != nil {
				return err
			}
			reps, err := o.listReplications(cmd.Context(), c, args)
			if err != nil {
				return err
			}
			o.printStatus(reps)
			return nil
		},
	}
}

// listReplications reads one replication, or all of them: ClusterReplications and the Replications
// of o.namespace (of every namespace when none is given).
func (o *options) listReplications(ctx context.Context, c client.Client, names []string) ([]*replication, error) {
	if len(names) == 1 {
		r, err := o.getReplication(ctx, c, names[0])
		if err != nil {
			return nil, err
		}
		return []*replication{r}, nil
	}
	var out []*replication
	if o.namespace == "" {
		var list v1alpha1.ClusterReplicationList
		if err := c.List(ctx, &list); err != nil {
			return nil, fmt.Errorf("failed to list ClusterReplications: %w", err)
		}
		for i := range list.Items {
			out = append(out, replicationOf(&list.Items[i]))
		}
	}
	var list v1alpha1.ReplicationList
	if err := c.List(ctx, &list, client.InNamespace(o.namespace)); err != nil {
		return nil, fmt.Errorf("failed to list Replications: %w", err)
	}
	for i := range list.Items {
		out = append(out, replicationOf(&list.Items[i]))
	}
	return out, nil
}

func (o *options) printStatus(reps []*replication) {
	if len(reps) == 0 {
		fmt.Fprintln(o.out, "No replications found.")
		return
	}
	w := tabwriter.NewWriter(o.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "REPLICATION\tTARGET\tMODE\tREADY\tSYNCED\tDRIFTED\tFAILED\tCONFLICTS\tPROMOTED\tFAILOVER-READY\tLAST-SYNC\tRECOVERY-POINT")
	now := o.now()
	for _, r := range reps {
		ready := meta.FindStatusCondition(r.status.Conditions, v1alpha1.ConditionReady)
		readyText := "Unknown"
		if ready != nil {
			readyText = string(ready.Status)
			if ready.Status != "True" {
				readyText += " (" + ready.Reason + ")"
			}
		}
		for _, t := range r.spec.Targets {
			ts := r.status.Target(t.Cluster)
			var row targetRow
			if ts != nil {
				row = targetRow{strconv.Itoa(int(ts.Synced)), strconv.Itoa(int(ts.Drifted)), strconv.Itoa(int(ts.Failed)), strconv.Itoa(int(ts.Conflicts)), strconv.Itoa(int(ts.Promoted))}
			} else {
				row = targetRow{"-", "-", "-", "-", "-"}
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ref(), t.Cluster, r.spec.Mode, readyText,
				row.synced, row.drifted, row.failed, row.conflicts, row.promoted, FailoverReady(ts), lastSync(ts, now), RecoveryPoint(r.spec, ready, ts, now))
		}
	}
	_ = w.Flush()
}

// FailoverReady says whether a target's copies can run at failover: "Yes", "No (N missing)", or
// "unknown" when the last pass could not check.
func FailoverReady(ts *v1alpha1.TargetStatus) string {
	switch {
	case ts == nil || ts.FailoverReady == nil:
		return "unknown"
	case *ts.FailoverReady:
		return "Yes"
	}
	return fmt.Sprintf("No (%d missing)", len(ts.FailoverBlockers))
}

type targetRow struct{ synced, drifted, failed, conflicts, promoted string }

func lastSync(ts *v1alpha1.TargetStatus, now time.Time) string {
	if ts == nil || ts.LastSyncTime == nil {
		return "never"
	}
	return duration.HumanDuration(now.Sub(ts.LastSyncTime.Time)) + " ago"
}

// RecoveryPoint says how old a target's DR copy can be: "current" when a Continuous replication is
// healthy on it (changes are mirrored as they happen), otherwise the time since its last complete
// pass, which is when the copy was last known to hold every change.
func RecoveryPoint(spec *v1alpha1.ReplicationSpec, ready *metav1.Condition, ts *v1alpha1.TargetStatus, now time.Time) string {
	if ts == nil || ts.LastSyncTime == nil {
		return "unknown (never synced)"
	}
	age := duration.HumanDuration(now.Sub(ts.LastSyncTime.Time))
	healthy := ready != nil && ready.Status == "True" && ts.Failed == 0
	switch {
	case spec.Suspend:
		return age + " (suspended)"
	case spec.Mode == v1alpha1.ModeContinuous && healthy:
		return "current"
	}
	return age
}
