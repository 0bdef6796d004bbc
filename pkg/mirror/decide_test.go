package mirror

import (
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/drsyncer/dr-syncer/api/keys"
)

func cm(source, hash, color string, managed bool) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "app", "namespace": "shop-dr"},
		"data":     map[string]any{"color": color},
	}}
	if managed {
		u.SetLabels(map[string]string{keys.LabelManagedBy: keys.ManagedByValue})
	}
	u.SetAnnotations(map[string]string{keys.AnnotationSource: source, keys.AnnotationSpecHash: hash})
	return u
}

// owned is cm with an owner annotation.
func owned(u *unstructured.Unstructured, owner string) *unstructured.Unstructured {
	a := u.GetAnnotations()
	a[keys.AnnotationOwner] = owner
	u.SetAnnotations(a)
	return u
}

// promoted is a copy promoted on DR (failover) and since scaled or edited there.
func promoted() *unstructured.Unstructured {
	u := cm("src/shop/app", "h0", "red", true)
	a := u.GetAnnotations()
	a[keys.AnnotationPromoted] = "2026-11-30T04:00:00Z"
	u.SetAnnotations(a)
	return u
}

func TestDecide(t *testing.T) {
	desired := cm("src/shop/app", "h1", "blue", true)
	withExtra := cm("src/shop/app", "h1", "blue", true)
	withExtra.Object["data"].(map[string]any)["added-by-someone"] = "x" // extra fields are not ours
	tests := []struct {
		name   string
		live   *unstructured.Unstructured
		policy Policy
		want   Action
	}{
		{"absent", nil, Policy{Drift: DriftCorrect}, ActionCreate},
		{"equal", cm("src/shop/app", "h1", "blue", true), Policy{Drift: DriftCorrect}, ActionUnchanged},
		{"extra live fields", withExtra, Policy{Drift: DriftCorrect}, ActionUnchanged},
		{"source changed", cm("src/shop/app", "h0", "red", true), Policy{Drift: DriftCorrect}, ActionUpdate},
		{"drift corrected", cm("src/shop/app", "h1", "red", true), Policy{Drift: DriftCorrect}, ActionCorrect},
		{"drift reported", cm("src/shop/app", "h1", "red", true), Policy{Drift: DriftReport}, ActionReportDrift},
		{"drift ignored", cm("src/shop/app", "h1", "red", true), Policy{Drift: DriftIgnore}, ActionUnchanged},
		{"unmanaged skipped", cm("", "", "red", false), Policy{Drift: DriftCorrect}, ActionConflict},
		{"unmanaged adopted", cm("", "", "red", false), Policy{Drift: DriftCorrect, Adopt: true}, ActionAdopt},
		{"managed for another source", cm("src/other/app", "h1", "blue", true), Policy{Drift: DriftCorrect}, ActionConflict},
		{"promoted left alone", promoted(), Policy{Drift: DriftCorrect, Adopt: true}, ActionPromoted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(desired, tt.live, tt.policy); got != tt.want {
				t.Fatalf("Decide() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		name          string
		desired, live any
		want          bool
	}{
		{"int vs float", map[string]any{"n": int64(3)}, map[string]any{"n": float64(3)}, true},
		{"different numbers", map[string]any{"n": int64(3)}, map[string]any{"n": int64(4)}, false},
		{"quantities normalized in resource lists", map[string]any{"limits": map[string]any{"cpu": "1000m"}}, map[string]any{"limits": map[string]any{"cpu": "1"}}, true},
		{"different quantities", map[string]any{"requests": map[string]any{"mem": "1Gi"}}, map[string]any{"requests": map[string]any{"mem": "1G"}}, false},
		{"ConfigMap data is never a quantity", map[string]any{"data": map[string]any{"count": "1"}}, map[string]any{"data": map[string]any{"count": "1000m"}}, false},
		{"nor a label", map[string]any{"labels": map[string]any{"cpu": "1"}}, map[string]any{"labels": map[string]any{"cpu": "1000m"}}, false},
		{"missing field", map[string]any{"a": "x"}, map[string]any{}, false},
		{"empty desired map missing live", map[string]any{"a": map[string]any{}}, map[string]any{}, true},
		{"list with defaults added", map[string]any{"c": []any{map[string]any{"name": "a"}}},
			map[string]any{"c": []any{map[string]any{"name": "a", "terminationMessagePath": "/dev/termination-log"}}}, true},
		{"list length differs", map[string]any{"c": []any{"a"}}, map[string]any{"c": []any{"a", "b"}}, false},
		{"bool differs", map[string]any{"suspend": true}, map[string]any{"suspend": false}, false},
		{"type differs", map[string]any{"x": "1"}, map[string]any{"x": int64(1)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Matches(tt.desired, tt.live); got != tt.want {
				t.Fatalf("Matches() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeleteLimitMinimum(t *testing.T) {
	tests := []struct {
		managed, want int
	}{
		{0, 5}, {3, 5}, {50, 5}, {59, 5}, {100, 10}, {109, 10}, {1000, 100},
	}
	for _, tt := range tests {
		if got := DeleteLimit(tt.managed, 0.1, 5); got != tt.want {
			t.Errorf("DeleteLimit(%d) = %d, want %d", tt.managed, got, tt.want)
		}
	}
}

func TestIsImmutable(t *testing.T) {
	gk := schema.GroupKind{Kind: "Service"}
	invalid := func(msg string) error {
		return apierrors.NewInvalid(gk, "db", field.ErrorList{field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), "None", msg)})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"Service turned headless", invalid("may not change once set"), true},
		{"Deployment selector", invalid("field is immutable"), true},
		{"StatefulSet spec", apierrors.NewInvalid(gk, "db", field.ErrorList{field.Forbidden(field.NewPath("spec"),
			"updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template' are forbidden")}), true},
		{"wrapped", fmt.Errorf("failed to apply: %w", invalid("field is immutable")), true},
		{"another invalid value", invalid("must be no more than 63 characters"), false},
		{"not invalid", apierrors.NewConflict(schema.GroupResource{Resource: "services"}, "db", errors.New("immutable")), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := IsImmutable(tt.err); got != tt.want {
			t.Errorf("%s: IsImmutable() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPlan(t *testing.T) {
	desired := owned(cm("src/shop/app", "h1", "blue", true), "ClusterReplication/prod")
	tests := []struct {
		name        string
		live        *unstructured.Unstructured
		policy      Policy
		want        Action
		needContent bool
	}{
		{"absent", nil, Policy{}, ActionCreate, false},
		{"unmanaged", cm("", "", "red", false), Policy{}, ActionConflict, false},
		{"unmanaged adopted", cm("", "", "red", false), Policy{Adopt: true}, ActionAdopt, false},
		{"hash differs", cm("src/shop/app", "h0", "red", true), Policy{}, ActionUpdate, false},
		{"hash equal, not verified: compare content", cm("src/shop/app", "h1", "blue", true), Policy{}, "", true},
		{"promoted", promoted(), Policy{}, ActionPromoted, false},
		{"same owner, hash differs", owned(cm("src/shop/app", "h0", "red", true), "ClusterReplication/prod"), Policy{}, ActionUpdate, false},
		{"before owners were recorded: ours", cm("src/shop/app", "h0", "red", true), Policy{}, ActionUpdate, false},
		{"another replication's copy of the same source", owned(cm("src/shop/app", "h0", "red", true), "Replication/shop/app"), Policy{}, ActionConflict, false},
		{"another replication's copy, even under Adopt", owned(cm("src/shop-dr/app", "h0", "red", true), "Replication/shop-dr/prod"), Policy{Adopt: true}, ActionConflict, false},
		{"another source's unowned copy under Adopt", cm("src/shop-dr/app", "h0", "red", true), Policy{Adopt: true}, ActionAdopt, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var live metav1.Object
			if tt.live != nil {
				live = tt.live
			}
			got, need := Plan(desired, live, tt.policy)
			if got != tt.want || need != tt.needContent {
				t.Fatalf("Plan() = %q, %v; want %q, %v", got, need, tt.want, tt.needContent)
			}
		})
	}
}
