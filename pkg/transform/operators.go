package transform

import (
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/drsyncer/dr-syncer/api/keys"
)

// operatorStandby is the standby form of the well-known kinds an operator on DR would act on: a
// mirrored ScaledObject would scale, a Kustomization would apply, a managed resource would change
// the cloud. Each entry sets one field while the copy stands by; the source's value is recorded
// (keys.AnnotationSourceFields) and promote puts it back.
var operatorStandby = []struct {
	group string
	kinds []string // any kind of the group when empty
	// having is a field a matching object has (Crossplane's managed resources, across many groups).
	having []string
	path   []string
	value  any // nil: the field is removed
}{
	{group: "keda.sh", kinds: []string{"ScaledObject", "ScaledJob"}, path: []string{"metadata", "annotations", "autoscaling.keda.sh/paused"}, value: "true"},
	{group: "kustomize.toolkit.fluxcd.io", kinds: []string{"Kustomization"}, path: []string{"spec", "suspend"}, value: true},
	{group: "helm.toolkit.fluxcd.io", kinds: []string{"HelmRelease"}, path: []string{"spec", "suspend"}, value: true},
	{having: []string{"spec", "forProvider"}, path: []string{"spec", "managementPolicies"}, value: []any{"Observe"}},
	{group: "argoproj.io", kinds: []string{"Application"}, path: []string{"spec", "syncPolicy", "automated"}},
}

// SourceField is the source's value of a field a standby form changed; Absent says the source did
// not have the field.
type SourceField struct {
	Path   []string `json:"path"`
	Value  any      `json:"value,omitempty"`
	Absent bool     `json:"absent,omitempty"`
}

// standbyOperators puts a copy of an operator's kind in its standby form and records what it changed.
func standbyOperators(out *unstructured.Unstructured) error {
	var changed []SourceField
	gk := out.GroupVersionKind().GroupKind()
	for _, e := range operatorStandby {
		if e.group != "" && (e.group != gk.Group || !slices.Contains(e.kinds, gk.Kind)) {
			continue
		}
		if e.having != nil {
			if _, found, _ := unstructured.NestedFieldNoCopy(out.Object, e.having...); !found {
				continue
			}
		}
		have, found, _ := unstructured.NestedFieldCopy(out.Object, e.path...)
		changed = append(changed, SourceField{Path: e.path, Value: have, Absent: !found})
		if e.value == nil {
			unstructured.RemoveNestedField(out.Object, e.path...)
		} else if err := unstructured.SetNestedField(out.Object, e.value, e.path...); err != nil {
			return fmt.Errorf("standby form of %s: %w", gk, err)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	recorded, err := json.Marshal(changed)
	if err != nil {
		return err
	}
	setAnnotation(out, keys.AnnotationSourceFields, string(recorded))
	return nil
}

// SourceFields reads the fields a standby form changed on a copy (none when it changed none).
func SourceFields(obj *unstructured.Unstructured) ([]SourceField, error) {
	v := obj.GetAnnotations()[keys.AnnotationSourceFields]
	if v == "" {
		return nil, nil
	}
	var out []SourceField
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return nil, fmt.Errorf("annotation %s of %s %s/%s is not valid: %w", keys.AnnotationSourceFields, obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	return out, nil
}
