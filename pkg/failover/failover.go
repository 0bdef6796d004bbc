// Package failover decides what promoting a DR copy (failover), demoting it (back to standby),
// fencing a source workload and unfencing it change, as JSON merge patches. Pure functions over
// unstructured objects; `kubectl drsyncer` does the I/O.
//
// Each step records the values it replaces in an annotation on the object it patches, in the same
// patch, so that the reverse step restores exactly those, and so that an interrupted run that is
// started again finds what is done and does only the rest.
package failover

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/pkg/mirror"
	"github.com/drsyncer/dr-syncer/pkg/transform"
)

// State is the part of a workload that decides whether it runs. Nil fields are not part of it.
type State struct {
	Replicas *int64 `json:"replicas,omitempty"` // Deployment, StatefulSet
	Suspend  *bool  `json:"suspend,omitempty"`  // CronJob
	// StandbySelector says the standby node selector keeps a DaemonSet's pods off every node.
	StandbySelector *bool `json:"standbySelector,omitempty"`
	// Fields are the fields of an operator's kind (KEDA, Flux, Crossplane, Argo CD) that its
	// standby form changes.
	Fields []transform.SourceField `json:"fields,omitempty"`
}

// Step is what one object needs: a JSON merge patch (nil when nothing) and what it changes, for
// people to read.
type Step struct {
	Patch   []byte
	Changes []string
}

// Done reports whether the object needs nothing.
func (s Step) Done() bool { return s.Patch == nil }

// Promote brings a DR copy to life: the source's replica count and CronJob suspend (recorded by the
// transform), no standby node selector, and the promoted mark. A copy already marked keeps its
// recorded standby state; only what is still not running is patched.
func Promote(obj *unstructured.Unstructured, at time.Time) (Step, error) {
	want, err := running(obj)
	if err != nil {
		return Step{}, err
	}
	annotations := map[string]any{}
	if !mirror.IsPromoted(obj) {
		annotations[keys.AnnotationPromoted] = at.UTC().Format(time.RFC3339)
		standby, err := json.Marshal(differing(current(obj, want), want))
		if err != nil {
			return Step{}, err
		}
		annotations[keys.AnnotationStandbyState] = string(standby)
	}
	return step(obj, want, annotations, "marked promoted")
}

// Demote returns a promoted DR copy to the standby state promotion recorded and removes the marks.
// A copy that is not promoted needs nothing.
func Demote(obj *unstructured.Unstructured) (Step, error) {
	if !mirror.IsPromoted(obj) {
		return Step{}, nil
	}
	want, err := recorded(obj, keys.AnnotationStandbyState)
	if err != nil {
		return Step{}, err
	}
	annotations := map[string]any{keys.AnnotationPromoted: nil, keys.AnnotationStandbyState: nil}
	return step(obj, want, annotations, "promoted mark removed")
}

// Fence stops a source workload (replicas 0, CronJob suspended) and records what it replaced.
// DaemonSets are not fenced: there is no count to set.
func Fence(obj *unstructured.Unstructured) (Step, error) {
	var want State
	switch obj.GetKind() {
	case "Deployment", "StatefulSet":
		want.Replicas = ptr(int64(0))
	case "CronJob":
		want.Suspend = ptr(true)
	default:
		return Step{}, nil
	}
	annotations := map[string]any{}
	if _, fenced := obj.GetAnnotations()[keys.AnnotationFencedState]; !fenced {
		before, err := json.Marshal(differing(current(obj, want), want))
		if err != nil {
			return Step{}, err
		}
		annotations[keys.AnnotationFencedState] = string(before)
	}
	return step(obj, want, annotations, "marked fenced")
}

// Unfence restores what Fence recorded on a source workload and removes the record.
func Unfence(obj *unstructured.Unstructured) (Step, error) {
	if _, fenced := obj.GetAnnotations()[keys.AnnotationFencedState]; !fenced {
		return Step{}, nil
	}
	want, err := recorded(obj, keys.AnnotationFencedState)
	if err != nil {
		return Step{}, err
	}
	return step(obj, want, map[string]any{keys.AnnotationFencedState: nil}, "fence removed")
}

// running is the state in which a DR copy serves, from what the transform recorded on it.
func running(obj *unstructured.Unstructured) (State, error) {
	var s State
	fields, err := transform.SourceFields(obj)
	if err != nil {
		return s, err
	}
	s.Fields = fields
	annotations := obj.GetAnnotations()
	switch obj.GetKind() {
	case "Deployment", "StatefulSet":
		if n, err := strconv.ParseInt(annotations[keys.AnnotationSourceReplicas], 10, 32); err == nil {
			s.Replicas = &n
		}
	case "CronJob":
		if v, ok := annotations[keys.AnnotationSourceSuspend]; ok {
			s.Suspend = ptr(v == "true")
		}
	case "DaemonSet":
		s.StandbySelector = ptr(false)
	}
	return s, nil
}

// current reads the State fields of obj: those of its kind, and the operator fields want names.
func current(obj *unstructured.Unstructured, want State) State {
	var s State
	for _, f := range want.Fields {
		v, found, _ := unstructured.NestedFieldCopy(obj.Object, f.Path...)
		s.Fields = append(s.Fields, transform.SourceField{Path: f.Path, Value: v, Absent: !found})
	}
	switch obj.GetKind() {
	case "Deployment", "StatefulSet":
		n, found, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas")
		if !found {
			n = 1 // the API default
		}
		s.Replicas = &n
	case "CronJob":
		b, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend")
		s.Suspend = &b
	case "DaemonSet":
		_, found, _ := unstructured.NestedString(obj.Object, "spec", "template", "spec", "nodeSelector", keys.NodeSelectorStandby)
		s.StandbySelector = &found
	}
	return s
}

// differing returns the fields of have that want sets to another value.
func differing(have, want State) State {
	var out State
	if want.Replicas != nil && (have.Replicas == nil || *have.Replicas != *want.Replicas) {
		out.Replicas = have.Replicas
	}
	if want.Suspend != nil && (have.Suspend == nil || *have.Suspend != *want.Suspend) {
		out.Suspend = have.Suspend
	}
	if want.StandbySelector != nil && (have.StandbySelector == nil || *have.StandbySelector != *want.StandbySelector) {
		out.StandbySelector = have.StandbySelector
	}
	for i, f := range want.Fields {
		if i < len(have.Fields) && !sameField(have.Fields[i], f) {
			out.Fields = append(out.Fields, have.Fields[i])
		}
	}
	return out
}

// sameField compares two field values as JSON (a recorded number decodes as float64).
func sameField(a, b transform.SourceField) bool {
	if a.Absent || b.Absent {
		return a.Absent == b.Absent
	}
	x, _ := json.Marshal(a.Value)
	y, _ := json.Marshal(b.Value)
	return string(x) == string(y)
}

// setIn sets path in a merge patch, merging with what the patch sets already; nil removes.
func setIn(patch map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := patch[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			patch[p] = next
		}
		patch = next
	}
	patch[path[len(path)-1]] = v
}

// step builds the merge patch that sets want and the annotations; mark describes annotation-only
// patches.
func step(obj *unstructured.Unstructured, want State, annotations map[string]any, mark string) (Step, error) {
	have := current(obj, want)
	patch := map[string]any{}
	var changes []string
	if want.Replicas != nil && *have.Replicas != *want.Replicas {
		setIn(patch, []string{"spec", "replicas"}, *want.Replicas)
		changes = append(changes, fmt.Sprintf("replicas %d → %d", *have.Replicas, *want.Replicas))
	}
	if want.Suspend != nil && *have.Suspend != *want.Suspend {
		setIn(patch, []string{"spec", "suspend"}, *want.Suspend)
		changes = append(changes, fmt.Sprintf("suspend %t → %t", *have.Suspend, *want.Suspend))
	}
	if want.StandbySelector != nil && *have.StandbySelector != *want.StandbySelector {
		var v any // nil removes the key
		change := "standby node selector removed"
		if *want.StandbySelector {
			v, change = "true", "standby node selector set"
		}
		setIn(patch, []string{"spec", "template", "spec", "nodeSelector", keys.NodeSelectorStandby}, v)
		changes = append(changes, change)
	}
	for i, f := range want.Fields {
		if sameField(have.Fields[i], f) {
			continue
		}
		var v any // absent: removed
		if !f.Absent {
			v = f.Value
		}
		setIn(patch, f.Path, v)
		changes = append(changes, fmt.Sprintf("%s %s → %s", strings.Join(f.Path, "."), show(have.Fields[i]), show(f)))
	}
	for k, v := range annotations {
		setIn(patch, []string{"metadata", "annotations", k}, v)
	}
	if len(patch) == 0 {
		return Step{}, nil
	}
	if len(changes) == 0 {
		changes = []string{mark}
	}
	b, err := json.Marshal(patch)
	return Step{Patch: b, Changes: changes}, err
}

// show is a field value for people to read.
func show(f transform.SourceField) string {
	if f.Absent {
		return "(none)"
	}
	b, _ := json.Marshal(f.Value)
	return string(b)
}

// recorded reads a State recorded as JSON in an annotation.
func recorded(obj *unstructured.Unstructured, key string) (State, error) {
	var s State
	if v := obj.GetAnnotations()[key]; v != "" {
		if err := json.Unmarshal([]byte(v), &s); err != nil {
			return s, fmt.Errorf("annotation %s of %s %s/%s is not valid: %w", key, obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
	}
	return s, nil
}

func ptr[T any](v T) *T { return &v }
