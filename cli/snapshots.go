package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/pkg/failover"
	"github.com/drsyncer/dr-syncer/pkg/mirror"
)

// snapshotLabel marks the Secrets that hold the promoted copies of a replication as promote left
// them (a copy may be a Secret, so they are Secrets too), one per DR namespace.
const snapshotLabel = "drsyncer.io/promote-snapshot"

func snapshotName(replication string) string { return "drsyncer-promoted-" + replication }

// recordSnapshots keeps the promoted copies as they are now. What an earlier, interrupted promote
// recorded is kept: the state to compare with is the one of the first promote.
func (o *options) recordSnapshots(ctx context.Context, dr client.Client, replication string, copies []*unstructured.Unstructured) error {
	byNS := map[string]map[string][]byte{}
	for _, c := range copies {
		if !mirror.IsPromoted(c) {
			continue
		}
		snap, err := failover.Snapshot(c)
		if err != nil {
			return err
		}
		if byNS[c.GetNamespace()] == nil {
			byNS[c.GetNamespace()] = map[string][]byte{}
		}
		byNS[c.GetNamespace()][failover.SnapshotKey(c)] = snap
	}
	for ns, data := range byNS {
		if err := o.saveSnapshot(ctx, dr, ns, replication, data); err != nil {
			return fmt.Errorf("failed to record the promoted copies in %s: %w", ns, err)
		}
	}
	return nil
}

func (o *options) saveSnapshot(ctx context.Context, dr client.Client, ns, replication string, data map[string][]byte) error {
	var s corev1.Secret
	err := dr.Get(ctx, client.ObjectKey{Namespace: ns, Name: snapshotName(replication)}, &s)
	if apierrors.IsNotFound(err) {
		s = corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: snapshotName(replication), Labels: map[string]string{snapshotLabel: replication}}, Data: data}
		return dr.Create(ctx, &s, client.FieldOwner(FieldManager))
	}
	if err != nil {
		return err
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	for k, v := range data {
		if _, kept := s.Data[k]; !kept {
			s.Data[k] = v
		}
	}
	return dr.Update(ctx, &s, client.FieldOwner(FieldManager))
}

// drChanges are what changed on DR since promote: a diff per promoted copy that changed, and the
// copies deleted on DR since. Copies promoted without a record (by hand, or by an older plugin)
// are counted in unknown.
type drChanges struct {
	diffs   []string
	deleted []string
	unknown int
}

func (c drChanges) any() bool { return len(c.diffs)+len(c.deleted) > 0 }

// changesSincePromote compares the promoted copies with the snapshots promote recorded.
func (o *options) changesSincePromote(ctx context.Context, dr client.Client, replication string, copies []*unstructured.Unstructured) (drChanges, error) {
	var out drChanges
	snaps := map[string]map[string][]byte{}
	seen := map[string]map[string]bool{}
	for _, c := range copies {
		ns := c.GetNamespace()
		if _, read := snaps[ns]; !read {
			var s corev1.Secret
			if err := dr.Get(ctx, client.ObjectKey{Namespace: ns, Name: snapshotName(replication)}, &s); client.IgnoreNotFound(err) != nil {
				return out, fmt.Errorf("failed to read the promoted copies recorded in %s: %w", ns, err)
			}
			snaps[ns], seen[ns] = s.Data, map[string]bool{}
		}
		if !mirror.IsPromoted(c) {
			continue
		}
		key := failover.SnapshotKey(c)
		snap, ok := snaps[ns][key]
		if !ok {
			out.unknown++
			continue
		}
		seen[ns][key] = true
		d, err := failover.ChangedSince(snap, c)
		if err != nil {
			return out, err
		}
		if d != "" {
			out.diffs = append(out.diffs, d)
		}
	}
	for ns, data := range snaps {
		for key := range data {
			if !seen[ns][key] {
				parts := strings.SplitN(key, "_", 3)
				out.deleted = append(out.deleted, parts[0]+" "+ns+"/"+parts[len(parts)-1])
			}
		}
	}
	slices.Sort(out.deleted)
	return out, nil
}

// deleteSnapshots removes the records of a replication's promote once it is demoted.
func (o *options) deleteSnapshots(ctx context.Context, dr client.Client, replication string, copies []*unstructured.Unstructured) {
	done := map[string]bool{}
	for _, c := range copies {
		ns := c.GetNamespace()
		if done[ns] {
			continue
		}
		done[ns] = true
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: snapshotName(replication)}}
		if err := dr.Delete(ctx, s); client.IgnoreNotFound(err) != nil {
			fmt.Fprintf(o.errOut, "warning: cannot delete %s/%s: %v\n", ns, s.Name, err)
		}
	}
}

// printChanges says what changed on DR since promote: with diffs for a dry run, by name otherwise.
func (o *options) printChanges(c drChanges, withDiffs bool) {
	fmt.Fprintf(o.out, "changed on DR since the promote: %d cop%s changed, %d deleted\n", len(c.diffs), pluralY(len(c.diffs)), len(c.deleted))
	for _, d := range c.diffs {
		if withDiffs {
			fmt.Fprint(o.out, d)
		} else {
			fmt.Fprintf(o.out, "  %s\n", strings.TrimSuffix(strings.TrimPrefix(strings.SplitN(d, "\n", 2)[0], "--- "), " at promote"))
		}
	}
	for _, d := range c.deleted {
		fmt.Fprintf(o.out, "  %s: deleted on DR\n", d)
	}
}
