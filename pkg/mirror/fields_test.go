package mirror

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

func entry(manager string, op metav1.ManagedFieldsOperationType, subresource, fields string) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, Subresource: subresource, APIVersion: "v1", FieldsType: "FieldsV1",
		FieldsV1: metav1.NewFieldsV1(fields)}
}

const (
	ourFields   = `{"f:data":{"f:a":{}},"f:metadata":{"f:labels":{"f:app.kubernetes.io/managed-by":{}}}}`
	extraKey    = `{"f:data":{"f:extra":{}}}`
	statusField = `{"f:status":{"f:phase":{}}}`
)

func TestForeignManagers(t *testing.T) {
	apply, update := metav1.ManagedFieldsOperationApply, metav1.ManagedFieldsOperationUpdate
	tests := []struct {
		name    string
		entries []metav1.ManagedFieldsEntry
		allowed []string
		want    []string
	}{
		{"only dr-syncer's apply", []metav1.ManagedFieldsEntry{entry(FieldManager, apply, "", ourFields)}, nil, nil},
		{"dr-syncer's own create is not foreign", []metav1.ManagedFieldsEntry{entry(FieldManager, update, "", ourFields)}, nil, nil},
		{"kubectl edit", []metav1.ManagedFieldsEntry{entry(FieldManager, apply, "", ourFields), entry("kubectl-edit", update, "", extraKey)}, nil, []string{"kubectl-edit"}},
		{"another applier and a client-side apply", []metav1.ManagedFieldsEntry{entry("other-team", apply, "", extraKey), entry("kubectl-client-side-apply", update, "", extraKey)},
			nil, []string{"other-team", "kubectl-client-side-apply"}},
		{"kubectl scale is drift", []metav1.ManagedFieldsEntry{entry("kubectl", update, "scale", `{"f:spec":{"f:replicas":{}}}`)}, nil, []string{"kubectl"}},
		{"status and the cluster's controllers are not", []metav1.ManagedFieldsEntry{entry("someone", update, "status", statusField),
			entry("kube-controller-manager", update, "", `{"f:metadata":{"f:annotations":{"f:deployment.kubernetes.io/revision":{}}}}`)}, nil, nil},
		{"an allowed manager is not", []metav1.ManagedFieldsEntry{entry("hpa-controller", update, "", `{"f:spec":{"f:replicas":{}}}`)}, []string{"hpa-controller"}, nil},
		{"finalizers of another controller are not", []metav1.ManagedFieldsEntry{entry("backup-operator", update, "", `{"f:metadata":{"f:finalizers":{".":{},"v:\"example.com/backup\"":{}}}}`)}, nil, nil},
		{"finalizers and more are", []metav1.ManagedFieldsEntry{entry("backup-operator", update, "", `{"f:metadata":{"f:finalizers":{".":{},"v:\"example.com/backup\"":{}},"f:labels":{"f:x":{}}}}`)}, nil, []string{"backup-operator"}},
		{"names only (the DR cache's)", []metav1.ManagedFieldsEntry{{Manager: "kubectl-edit", Operation: update}}, nil, []string{"kubectl-edit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ForeignManagers(tt.entries, tt.allowed)
			if len(got) != len(tt.want) {
				t.Fatalf("ForeignManagers() = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("ForeignManagers() = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestTakeOver(t *testing.T) {
	apply, update := metav1.ManagedFieldsOperationApply, metav1.ManagedFieldsOperationUpdate
	now := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
	owned := func(entries []metav1.ManagedFieldsEntry, manager string) *fieldpath.Set {
		for _, e := range entries {
			if e.Manager == manager {
				s, err := fieldSet(e)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
		}
		return nil
	}
	set := func(raw string) *fieldpath.Set {
		s := &fieldpath.Set{}
		if err := s.FromJSON(strings.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		return s
	}

	t.Run("foreign fields join dr-syncer's apply entry; status and allowed managers stay", func(t *testing.T) {
		in := []metav1.ManagedFieldsEntry{entry(FieldManager, apply, "", ourFields), entry("kubectl-edit", update, "", extraKey),
			entry("kube-controller-manager", update, "status", statusField), entry("hpa", update, "", `{"f:spec":{"f:replicas":{}}}`)}
		out, changed, err := TakeOver(in, []string{"hpa"}, "v1", now)
		if err != nil || !changed {
			t.Fatalf("TakeOver() changed=%v err=%v", changed, err)
		}
		if len(out) != 3 || owned(out, "kubectl-edit") != nil {
			t.Fatalf("TakeOver() = %v, want dr-syncer, the status entry and hpa", out)
		}
		if got, want := owned(out, FieldManager), set(ourFields).Union(set(extraKey)); !got.Equals(want) {
			t.Fatalf("dr-syncer owns %s, want %s", got, want)
		}
		if out[0].Operation != apply {
			t.Fatalf("dr-syncer's entry is %s, want Apply", out[0].Operation)
		}
	})
	t.Run("a plain create's Update entry becomes dr-syncer's apply entry", func(t *testing.T) {
		out, changed, err := TakeOver([]metav1.ManagedFieldsEntry{entry(FieldManager, update, "", ourFields)}, nil, "v1", now)
		if err != nil || !changed || len(out) != 1 || out[0].Operation != apply || out[0].APIVersion != "v1" || !owned(out, FieldManager).Equals(set(ourFields)) {
			t.Fatalf("TakeOver() = %v, %v, %v", out, changed, err)
		}
	})
	t.Run("another controller keeps its finalizers, not its other fields", func(t *testing.T) {
		backup := `{"f:metadata":{"f:finalizers":{".":{},"v:\"example.com/backup\"":{}},"f:labels":{"f:x":{}}}}`
		out, changed, err := TakeOver([]metav1.ManagedFieldsEntry{entry(FieldManager, apply, "", ourFields), entry("backup-operator", update, "", backup)}, nil, "v1", now)
		if err != nil || !changed || len(out) != 2 {
			t.Fatalf("TakeOver() = %v, %v, %v", out, changed, err)
		}
		if got := owned(out, "backup-operator"); !got.Equals(set(`{"f:metadata":{"f:finalizers":{".":{},"v:\"example.com/backup\"":{}}}}`)) {
			t.Fatalf("backup-operator owns %s, want its finalizer only", got)
		}
		if !owned(out, FieldManager).Has(fieldpath.MakePathOrDie("metadata", "labels", "x")) {
			t.Fatal("dr-syncer did not take the label")
		}
	})
	t.Run("nothing to take: unchanged", func(t *testing.T) {
		in := []metav1.ManagedFieldsEntry{entry(FieldManager, apply, "", ourFields), entry("x", update, "status", statusField)}
		if _, changed, err := TakeOver(in, nil, "v1", now); err != nil || changed {
			t.Fatalf("TakeOver() changed=%v err=%v, want no change", changed, err)
		}
	})
}
