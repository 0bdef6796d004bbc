package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/pkg/failover"
	"github.com/drsyncer/dr-syncer/pkg/readiness"
)

func (o *options) promoteCommand() *cobra.Command {
	var target string
	var fenceSource, dryRun, force bool
	cmd := &cobra.Command{
		Use:   "promote NAME --target CLUSTER",
		Short: "Fail over: bring the DR copies of a replication to life on the DR cluster",
		Long: `promote brings every DR copy of the replication to life: Deployments and StatefulSets get the
source's replica count back (drsyncer.io/source-replicas), CronJobs run again unless the source had
suspended them, DaemonSets lose the standby node selector, and every copy is marked
drsyncer.io/promoted, which dr-syncer never overwrites or prunes until it is demoted.

When the source cluster answers, the replication is fenced first (spec.suspend=true); with
--fence-source the source workloads are also scaled to zero. promote needs only the DR cluster:
when the source does not answer it promotes anyway and says so; run it again once the source is
back to fence the replication. It is idempotent: a run that was interrupted is finished by the
next, which changes only what is still left.

Before it changes anything, promote checks on the DR cluster that every copy has there what it needs
to run (ConfigMaps, Secrets, ServiceAccounts, claims and their StorageClass, pull Secrets,
PriorityClass, RuntimeClass, IngressClass, Role or ClusterRole, the CRD of a custom resource), the
check behind the replication's FailoverReady condition. It refuses, writing nothing, while something
is missing, unless --force; --dry-run lists what is missing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.runPromote(cmd.Context(), args[0], target, fenceSource, dryRun, force)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "Promote even though objects the copies need are missing on the DR cluster.")
	cmd.Flags().StringVar(&target, "target", "", "The target (RemoteCluster name) that --dr-context points at.")
	cmd.Flags().BoolVar(&fenceSource, "fence-source", false, "Also scale the source workloads to zero and suspend its CronJobs (the previous values are recorded; demote restores them).")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "Print the plan; change nothing.")
	_ = cmd.MarkFlagRequired("target")
	return cmd
}

func (o *options) demoteCommand() *cobra.Command {
	var target string
	var force, dryRun bool
	cmd := &cobra.Command{
		Use:   "demote NAME --target CLUSTER",
		Short: "Return to standby: the DR copies back to their standby state and the replication resumed",
		Long: `demote undoes promote: source workloads fenced by promote --fence-source get their replicas back,
every promoted DR copy returns to the standby values promote recorded (replicas, CronJob suspend,
DaemonSet standby node selector) and loses its promoted mark, and the replication is resumed
(spec.suspend=false), so dr-syncer mirrors the source again.

demote refuses to run while the source cluster does not answer, since that would leave nothing
serving, and while copies changed on DR since the promote (compared with what promote recorded in
Secret drsyncer-promoted-NAME of each DR namespace; replicas and the other fields demote sets back
do not count), since the next pass would overwrite them: --dry-run prints those changes as diffs,
and --force demotes anyway.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.runDemote(cmd.Context(), args[0], target, force, dryRun)
		},
	}
	cmd.Flags().StringVar(&target, "target", "", "The target (RemoteCluster name) that --dr-context points at.")
	cmd.Flags().BoolVar(&force, "force", false, "Demote the DR copies even when the source cluster does not answer, or copies changed on DR since the promote.")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "Print the plan; change nothing.")
	_ = cmd.MarkFlagRequired("target")
	return cmd
}

// failoverRun is what promote and demote found and did, for the report.
type failoverRun struct {
	verb        string // "promote" or "demote"
	name        string
	target      string
	unreachable string // why the source did not answer, "" when it did
	replication string // what happened to the replication (fenced, resumed, …)
	source      []*planned
	copies      []*planned
	untouched   int // copies that needed nothing
	blockers    []readiness.Blocker
	start       time.Time
}

func (o *options) runPromote(ctx context.Context, name, target string, fenceSource, dryRun, force bool) error {
	run := &failoverRun{verb: "promote", name: name, target: target, start: time.Now()}
	dr, rep, src, err := o.prepare(ctx, run)
	if err != nil {
		return err
	}
	copies, err := o.listCopies(ctx, dr, name)
	if err != nil {
		return err
	}
	if len(copies) == 0 {
		return fmt.Errorf("no copies of %s on the DR cluster (context %q): nothing to promote", name, o.drContext)
	}
	run.blockers = failoverBlockers(ctx, dr, copies)
	refusal := o.notReady(run, force)
	if refusal != nil && !dryRun {
		return refusal
	}
	now := o.now()
	run.plan(copies, func(obj *unstructured.Unstructured) (failover.Step, error) { return failover.Promote(obj, now) })
	fence := rep != nil && (!rep.spec.Suspend || rep.obj.GetAnnotations()[keys.AnnotationFenced] == "")
	if fenceSource && rep != nil {
		run.source = o.planSource(ctx, src, copies, failover.Fence)
	}
	switch {
	case rep == nil:
		run.replication = fmt.Sprintf("NOT fenced: the source cluster does not answer (%s). The promoted copies are marked, so dr-syncer leaves them alone; run promote again once the source answers to fence the replication", run.unreachable)
	case fence:
		run.replication = fmt.Sprintf("fenced: %s %s suspended (spec.suspend=true)", rep.kind(), rep.ref())
	default:
		run.replication = fmt.Sprintf("already fenced: %s %s is suspended", rep.kind(), rep.ref())
	}
	if dryRun {
		if err := o.printPlan(run, fence); err != nil {
			return err
		}
		return refusal
	}
	fenceFailed := 0
	if fence {
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}},"spec":{"suspend":true}}`, keys.AnnotationFenced, now.UTC().Format(time.RFC3339))
		if err := src.Patch(ctx, rep.obj, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(FieldManager)); err != nil {
			// Promoting is the point: go on (the marks keep dr-syncer off the copies) and say so.
			run.replication = fmt.Sprintf("NOT fenced: %v; the promoted copies are marked, so dr-syncer leaves them alone", err)
			fenceFailed = 1
		}
	}
	failed := fenceFailed + o.patchAll(ctx, src, run.source, "fencing source workloads")
	failed += o.patchAll(ctx, dr, run.copies, "promoting "+name)
	// The copies as promote left them (patched in place from the answers), for demote to tell what
	// changed on DR while it served.
	if err := o.recordSnapshots(ctx, dr, name, copies); err != nil {
		fmt.Fprintf(o.errOut, "warning: %v; demote will not be able to show what changed on DR\n", err)
	}
	o.report(run)
	if failed > 0 {
		return fmt.Errorf("%d object(s) could not be changed; run promote again to finish", failed)
	}
	return nil
}

func (o *options) runDemote(ctx context.Context, name, target string, force, dryRun bool) error {
	run := &failoverRun{verb: "demote", name: name, target: target, start: time.Now()}
	dr, rep, src, err := o.prepare(ctx, run)
	if err != nil {
		return err
	}
	if rep == nil && !force {
		return fmt.Errorf("the source cluster does not answer (%s): demoting now would leave nothing serving; pass --force to demote the DR copies anyway", run.unreachable)
	}
	copies, err := o.listCopies(ctx, dr, name)
	if err != nil {
		return err
	}
	changes, err := o.changesSincePromote(ctx, dr, name, copies)
	if err != nil {
		return err
	}
	run.plan(copies, failover.Demote)
	if rep != nil {
		run.source = o.planSource(ctx, src, copies, failover.Unfence)
		run.replication = fmt.Sprintf("resumed: %s %s mirrors again (spec.suspend=false)", rep.kind(), rep.ref())
	} else {
		run.replication = fmt.Sprintf("NOT resumed: the source cluster does not answer (%s); run demote again once it does", run.unreachable)
	}
	if dryRun {
		if changes.any() {
			o.printChanges(changes, true)
		}
		if err := o.printPlan(run, rep != nil); err != nil {
			return err
		}
		return discardRefusal(changes, force)
	}
	if err := discardRefusal(changes, force); err != nil {
		o.printChanges(changes, false)
		return err
	}
	if changes.any() {
		fmt.Fprintf(o.out, "discarding what changed on DR since the promote (--force): %d changed, %d deleted\n", len(changes.diffs), len(changes.deleted))
	}
	// The source serves again before the DR copies stand down.
	failed := o.patchAll(ctx, src, run.source, "unfencing source workloads")
	failed += o.patchAll(ctx, dr, run.copies, "demoting "+name)
	if rep != nil && failed == 0 {
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:null}},"spec":{"suspend":false}}`, keys.AnnotationFenced)
		if err := src.Patch(ctx, rep.obj, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(FieldManager)); err != nil {
			run.replication = fmt.Sprintf("NOT resumed: %v", err)
			failed++
		}
	}
	o.report(run)
	if failed == 0 {
		o.deleteSnapshots(ctx, dr, name, copies)
	}
	switch {
	case failed > 0:
		return fmt.Errorf("%d object(s) could not be changed; run demote again to finish", failed)
	case rep == nil:
		return errors.New("the DR copies are on standby, but the replication was not resumed: the source cluster does not answer")
	}
	return nil
}

// prepare connects to the DR cluster and probes the source; rep and src are nil when the source
// does not answer (run.unreachable says why).
func (o *options) prepare(ctx context.Context, run *failoverRun) (dr client.Client, rep *replication, src client.Client, err error) {
	if dr, err = o.drClient(); err != nil {
		return nil, nil, nil, err
	}
	rep, src, run.unreachable, err = o.probeReplication(ctx, run.name)
	if err != nil {
		return nil, nil, nil, err
	}
	if rep != nil {
		if _, err := rep.target(run.target); err != nil {
			return nil, nil, nil, err
		}
	}
	return dr, rep, src, nil
}

// plan decides each copy's step; a copy whose step cannot be decided is kept with its error.
func (run *failoverRun) plan(copies []*unstructured.Unstructured, decide func(*unstructured.Unstructured) (failover.Step, error)) {
	for _, obj := range copies {
		s, err := decide(obj)
		if err == nil && s.Done() {
			run.untouched++
			continue
		}
		run.copies = append(run.copies, &planned{obj: obj, step: s, err: err})
	}
}

// planSource decides a step for the source object of every workload copy.
func (o *options) planSource(ctx context.Context, src client.Client, copies []*unstructured.Unstructured, decide func(*unstructured.Unstructured) (failover.Step, error)) []*planned {
	var out []*planned
	for _, c := range copies {
		if !isWorkload(c) {
			continue
		}
		_, ns, name, _ := sourceOf(c)
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(c.GroupVersionKind())
		if err := src.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
			if !apierrors.IsNotFound(err) {
				fmt.Fprintf(o.errOut, "warning: cannot read source %s %s/%s: %v\n", c.GetKind(), ns, name, err)
			}
			continue
		}
		s, err := decide(obj)
		if err != nil || !s.Done() {
			out = append(out, &planned{obj: obj, step: s, err: err})
		}
	}
	return out
}

// discardRefusal refuses a demote that would discard what changed on DR since the promote.
func discardRefusal(c drChanges, force bool) error {
	if !c.any() || force {
		return nil
	}
	return fmt.Errorf("%d cop%s changed and %d deleted on DR since the promote: the next pass would overwrite them with the source; see them with --dry-run, carry over what must be kept, then demote with --force",
		len(c.diffs), pluralY(len(c.diffs)), len(c.deleted))
}

// failoverBlockers are the objects the replication's copies need on the DR cluster and it lacks:
// the decision behind the controller's FailoverReady condition, made from the copies themselves, so
// that it holds when the source is gone.
func failoverBlockers(ctx context.Context, dr client.Client, copies []*unstructured.Unstructured) []readiness.Blocker {
	needs := map[readiness.Ref][]readiness.Ref{}
	for _, c := range copies {
		gk := c.GroupVersionKind().GroupKind()
		needs[readiness.Ref{Group: gk.Group, Kind: gk.Kind, Namespace: c.GetNamespace(), Name: c.GetName()}] = readiness.Needs(c)
	}
	checker := &readiness.Checker{Client: dr}
	return readiness.Missing(needs, func(r readiness.Ref) bool { return checker.Exists(ctx, r) })
}

// notReady lists what blocks a failover and returns the refusal, nil when nothing is missing or
// the operator forces it.
func (o *options) notReady(run *failoverRun, force bool) error {
	if len(run.blockers) == 0 {
		return nil
	}
	w := o.out
	fmt.Fprintf(w, "not ready for failover: %d object(s) the copies need are missing on the DR cluster:\n", len(run.blockers))
	for _, b := range run.blockers {
		fmt.Fprintf(w, "  %s (needed by %s)\n", b.Missing, b.NeededBy)
	}
	if force {
		fmt.Fprintln(w, "promoting anyway (--force)")
		return nil
	}
	return fmt.Errorf("%s is not ready for failover on %s: provide what is missing (cluster-scoped objects are the platform admin's), or pass --force", run.name, run.target)
}
