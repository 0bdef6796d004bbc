package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/mirror"
	"github.com/drsyncer/dr-syncer/pkg/nstemplate"
	"github.com/drsyncer/dr-syncer/pkg/scope"
	"github.com/drsyncer/dr-syncer/pkg/transform"
)

func (o *options) diffCommand() *cobra.Command {
	var target, sourceCluster string
	cmd := &cobra.Command{
		Use:   "diff NAME --target CLUSTER",
		Short: "Show how the live DR objects differ from the desired DR state, as unified diffs; writes nothing",
		Long: `diff computes the desired DR copy of every source object the replication covers (the same
transforms dr-syncer applies), asks the DR API server what applying it would produce (server-side
dry-run: nothing is written) and prints a unified diff against the live DR object. Absent copies,
copies whose source is gone, promoted copies and conflicting objects are listed too.
Exit status: 0 when nothing differs, 1 when something does or on error (like kubectl diff).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.runDiff(cmd.Context(), args[0], target, sourceCluster)
		},
	}
	cmd.Flags().StringVar(&target, "target", "", "The target (RemoteCluster name) that --dr-context points at.")
	cmd.Flags().StringVar(&sourceCluster, "source-cluster-name", "source", "The manager's --source-cluster-name (recorded in each copy's drsyncer.io/source).")
	_ = cmd.MarkFlagRequired("target")
	return cmd
}

// diffCounts tallies what diff found.
type diffCounts struct{ differ, absent, orphans, promoted, conflicts, equal int }

func (d diffCounts) any() bool { return d.differ+d.absent+d.orphans+d.conflicts > 0 }

func (o *options) runDiff(ctx context.Context, name, targetName, sourceCluster string) error {
	src, err := o.sourceClient()
	if err != nil {
		return err
	}
	r, err := o.getReplication(ctx, src, name)
	if err != nil {
		return err
	}
	t, err := r.target(targetName)
	if err != nil {
		return err
	}
	dr, err := o.drClient()
	if err != nil {
		return err
	}
	namespaces, err := sourceNamespaces(ctx, src, r)
	if err != nil {
		return err
	}
	// The same decision as the controller's and the labeling webhook's.
	sc := scope.Of(r.spec.Resources)
	if _, err := sc.Selector(); err != nil {
		return err
	}
	var n diffCounts
	for _, gk := range sc.Kinds() {
		m, err := src.RESTMapper().RESTMapping(gk)
		if err != nil {
			fmt.Fprintf(o.errOut, "warning: %s is not served by the source cluster: %v\n", gk, err)
			continue
		}
		for _, ns := range namespaces {
			dest, err := nstemplate.Render(t.Namespace, ns)
			if err != nil {
				fmt.Fprintf(o.errOut, "warning: namespace %s: %v\n", ns, err)
				continue
			}
			opts := scope.TransformOptions(r.spec, t, sourceCluster, r.obj.GetNamespace(), r.obj.GetName(), dest)
			if err := o.diffKind(ctx, src, dr, r, m.GroupVersionKind, ns, dest, sc, opts, &n); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(o.out, "%s on %s: %d differ, %d absent, %d without a source, %d conflicts, %d promoted, %d equal; nothing was written\n",
		r.ref(), targetName, n.differ, n.absent, n.orphans, n.conflicts, n.promoted, n.equal)
	if n.any() {
		return ErrDifferences
	}
	return nil
}

// diffKind compares the copies of one kind in one source namespace.
func (o *options) diffKind(ctx context.Context, src, dr client.Client, r *replication, gvk schema.GroupVersionKind, ns, dest string,
	sc *scope.Scope, opts transform.Options, n *diffCounts) error {
	sel, _ := sc.Selector() // checked by the caller
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := src.List(ctx, list, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return fmt.Errorf("failed to list %s in %s on the source: %w", gvk.Kind, ns, err)
	}
	var desiredNames []string
	for i := range list.Items {
		obj := &list.Items[i]
		secretType, _, _ := unstructured.NestedString(obj.Object, "type")
		if sc.SkipReason(gvk.GroupKind(), obj, secretType) != "" {
			continue
		}
		desired, err := transform.Desired(obj, opts)
		if err != nil {
			fmt.Fprintf(o.errOut, "warning: %s %s/%s cannot be transformed: %v\n", gvk.Kind, ns, obj.GetName(), err)
			continue
		}
		desiredNames = append(desiredNames, desired.GetName())
		if err := o.diffObject(ctx, dr, desired, diffPolicy(r.spec), n); err != nil {
			return err
		}
	}
	// Copies whose source is gone.
	copies := &metav1.PartialObjectMetadataList{}
	copies.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := dr.List(ctx, copies, client.InNamespace(dest), client.MatchingLabels{keys.LabelManagedBy: keys.ManagedByValue, keys.LabelReplication: r.obj.GetName()}); err != nil {
		return fmt.Errorf("failed to list %s copies in %s on the DR cluster: %w", gvk.Kind, dest, err)
	}
	var orphans []*metav1.PartialObjectMetadata
	for i := range copies.Items {
		c := &copies.Items[i]
		c.SetGroupVersionKind(gvk)
		if _, srcNS, _, _ := sourceOf(c); srcNS == ns && !slices.Contains(desiredNames, c.GetName()) {
			orphans = append(orphans, c)
		}
	}
	// The same decision as a pass's prune (the breaker and the source read aside).
	plan := mirror.PlanPrune(orphans, mirror.PruneOptions{Retain: r.spec.DeletionPolicy != v1alpha1.DeletionDelete})
	for _, c := range plan.Kept {
		fate := "kept (deletionPolicy Retain)"
		if c.Action == mirror.ActionPromoted {
			fate = "kept (promoted)"
		}
		fmt.Fprintf(o.out, "%s %s/%s: its source is gone; %s\n", gvk.Kind, c.Namespace, c.Name, fate)
	}
	for _, c := range plan.Candidates {
		fmt.Fprintf(o.out, "%s %s/%s: its source is gone; deleted by the next pass (deletionPolicy Delete)\n", gvk.Kind, c.GetNamespace(), c.GetName())
	}
	n.orphans += len(plan.Kept) + len(plan.Candidates)
	return nil
}

// diffObject says what the controller's plan does with one copy (mirror.Decide, the same decision
// a pass makes), and for a copy it writes prints how the live DR object differs from what applying
// desired would make of it (a server-side dry-run).
func (o *options) diffObject(ctx context.Context, dr client.Client, desired *unstructured.Unstructured, policy mirror.Policy, n *diffCounts) error {
	id := fmt.Sprintf("%s %s/%s", desired.GetKind(), desired.GetNamespace(), desired.GetName())
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(desired.GroupVersionKind())
	switch err := dr.Get(ctx, client.ObjectKeyFromObject(desired), live); {
	case apierrors.IsNotFound(err):
		live = nil
	case err != nil:
		return fmt.Errorf("failed to read %s on the DR cluster: %w", id, err)
	}
	switch mirror.Decide(desired, live, policy) {
	case mirror.ActionCreate:
		n.absent++
		return o.printDiff(id+" (absent on DR)", nil, desired)
	case mirror.ActionPromoted:
		n.promoted++
		fmt.Fprintf(o.out, "%s: promoted; dr-syncer leaves it alone until demote\n", id)
		return nil
	case mirror.ActionConflict:
		n.conflicts++
		fmt.Fprintf(o.out, "%s: exists on DR and is not managed by dr-syncer (a conflict)\n", id)
		return nil
	case mirror.ActionUnchanged:
		n.equal++
		return nil
	}
	applied := desired.DeepCopy()
	if err := dr.Apply(ctx, client.ApplyConfigurationFromUnstructured(applied), client.FieldOwner(mirror.FieldManager), client.ForceOwnership, client.DryRunAll); err != nil {
		return fmt.Errorf("server-side dry-run of %s failed: %w", id, err)
	}
	n.differ++
	return o.printDiff(id, live, applied)
}

// printDiff prints a unified diff between two objects (live nil: absent).
func (o *options) printDiff(id string, live, desired *unstructured.Unstructured) error {
	before := ""
	if live != nil {
		before = comparable(live)
	}
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(before), B: difflib.SplitLines(comparable(desired)),
		FromFile: "live " + id, ToFile: "desired " + id, Context: 3,
	})
	if err != nil {
		return err
	}
	fmt.Fprint(o.out, text)
	return nil
}

// comparable is an object as YAML without what the API server maintains.
func comparable(obj *unstructured.Unstructured) string {
	c := obj.DeepCopy()
	delete(c.Object, "status")
	for _, f := range []string{"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	b, _ := yaml.Marshal(c.Object)
	return string(b)
}

// diffPolicy is the engine's policy for a replication's spec, except that drift is always shown:
// diff says how copies differ, whatever the drift policy does about it.
func diffPolicy(spec *v1alpha1.ReplicationSpec) mirror.Policy {
	p := scope.Policy(spec)
	p.Drift = mirror.DriftCorrect
	return p
}
