package mirror

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// clusterManagers are the DR cluster's own controllers: what they set on a copy (a Deployment's
// revision annotation, a PVC's binding) is the cluster running, not drift, like what the API
// server sets itself. Fighting them would be a write storm.
var clusterManagers = []string{"kube-controller-manager", "kube-scheduler", "cloud-controller-manager", "kube-apiserver"}

// isOurs reports whether a managed-fields entry is dr-syncer's server-side apply of the object.
func isOurs(e metav1.ManagedFieldsEntry) bool {
	return e.Manager == FieldManager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == ""
}

// tolerated reports whether fields of an entry are not drift: status, the cluster's own
// controllers, and the managers a replication allows.
func tolerated(e metav1.ManagedFieldsEntry, allowed []string) bool {
	return e.Subresource == "status" || slices.Contains(clusterManagers, e.Manager) || slices.Contains(allowed, e.Manager)
}

// ForeignManagers names the field managers other than dr-syncer that own fields of a copy and
// whose fields are drift: anyone who edited, patched or applied to it on DR. dr-syncer's own
// create (an Update entry, migrated on its first update) is not foreign.
func ForeignManagers(entries []metav1.ManagedFieldsEntry, allowed []string) []string {
	var out []string
	for _, e := range entries {
		if IsForeignEntry(e, allowed) && !slices.Contains(out, e.Manager) {
			out = append(out, e.Manager)
		}
	}
	return out
}

// IsForeignEntry reports whether the fields of a managed-fields entry are drift. An entry whose
// field sets were dropped (the DR cache keeps only names) counts as foreign: it was kept because
// it was.
func IsForeignEntry(e metav1.ManagedFieldsEntry, allowed []string) bool {
	if e.Manager == FieldManager || tolerated(e, allowed) {
		return false
	}
	if e.FieldsV1 == nil {
		return true
	}
	drift, _, err := splitFields(e)
	return err != nil || !drift.Empty()
}

// lifecycleFields are what other controllers may hold on a copy without that being drift:
// finalizers (a backup or protection controller's), which removing would break.
var lifecycleFields = fieldpath.NewSet(fieldpath.MakePathOrDie("metadata", "finalizers"))

// splitFields splits the fields of an entry into drift and lifecycle fields.
func splitFields(e metav1.ManagedFieldsEntry) (drift, lifecycle *fieldpath.Set, err error) {
	s, err := fieldSet(e)
	if err != nil {
		return nil, nil, err
	}
	drift = s.RecursiveDifference(lifecycleFields)
	return drift, s.Difference(drift), nil
}

// TakeOver hands every field of the entries that are neither dr-syncer's apply nor tolerated
// to dr-syncer's apply entry (created when missing), so that the next server-side apply removes
// what the desired object does not have: fields another manager added on DR, and what a plain
// create left under dr-syncer's Update entry. changed is false when there is nothing to take.
func TakeOver(entries []metav1.ManagedFieldsEntry, allowed []string, apiVersion string, now time.Time) (out []metav1.ManagedFieldsEntry, changed bool, err error) {
	ours := -1
	taken := &fieldpath.Set{}
	var kept []metav1.ManagedFieldsEntry // tolerated entries, and the lifecycle fields of others
	for i, e := range entries {
		switch {
		case isOurs(e):
			ours = i
			continue
		case tolerated(e, allowed):
			kept = append(kept, e)
			continue
		}
		rest, drift, err := withoutDrift(e)
		if err != nil {
			return nil, false, err
		}
		taken = taken.Union(drift)
		changed = changed || !drift.Empty()
		if rest != nil {
			kept = append(kept, *rest)
		}
	}
	if !changed {
		return entries, false, nil
	}
	entry := metav1.ManagedFieldsEntry{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply, APIVersion: apiVersion,
		FieldsType: "FieldsV1", Time: &metav1.Time{Time: now}}
	if ours >= 0 {
		entry = entries[ours]
		set, err := fieldSet(entry)
		if err != nil {
			return nil, false, fmt.Errorf("managed fields of %s: %w", FieldManager, err)
		}
		taken = taken.Union(set)
	}
	raw, err := taken.ToJSON()
	if err != nil {
		return nil, false, err
	}
	entry.FieldsV1 = metav1.NewFieldsV1(string(raw))
	return append([]metav1.ManagedFieldsEntry{entry}, kept...), true, nil
}

// withoutDrift splits another manager's entry into the fields that are drift and the entry that
// keeps the rest (nil when nothing is left).
func withoutDrift(e metav1.ManagedFieldsEntry) (*metav1.ManagedFieldsEntry, *fieldpath.Set, error) {
	drift, lifecycle, err := splitFields(e)
	if err != nil {
		return nil, nil, fmt.Errorf("managed fields of %s: %w", e.Manager, err)
	}
	if drift.Empty() {
		return &e, drift, nil
	}
	if lifecycle.Empty() {
		return nil, drift, nil
	}
	raw, err := lifecycle.ToJSON()
	if err != nil {
		return nil, nil, err
	}
	e.FieldsV1 = metav1.NewFieldsV1(string(raw))
	return &e, drift, nil
}

func fieldSet(e metav1.ManagedFieldsEntry) (*fieldpath.Set, error) {
	s := &fieldpath.Set{}
	if e.FieldsV1 == nil {
		return s, nil
	}
	raw := e.FieldsV1.GetRawBytes()
	if len(bytes.TrimSpace(raw)) == 0 {
		return s, nil
	}
	return s, s.FromJSON(bytes.NewReader(raw))
}
