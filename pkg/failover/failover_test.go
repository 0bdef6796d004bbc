package failover

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/drsyncer/dr-syncer/pkg/mirror"
	"github.com/drsyncer/dr-syncer/pkg/transform"
)

var at = time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)

func object(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return u
}

// patched applies a step's merge patch the way the API server does.
func patched(t *testing.T, obj *unstructured.Unstructured, s Step) *unstructured.Unstructured {
	t.Helper()
	if s.Done() {
		return obj
	}
	before, _ := json.Marshal(obj.Object)
	after, err := jsonpatch.MergePatch(before, s.Patch)
	if err != nil {
		t.Fatal(err)
	}
	out := &unstructured.Unstructured{}
	if err := out.UnmarshalJSON(after); err != nil {
		t.Fatal(err)
	}
	return out
}

const (
	standbyDeployment   = `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop, annotations: {drsyncer.io/source-replicas: "3"}}, spec: {replicas: 0}}`
	preserveStatefulSet = `{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db, namespace: shop}, spec: {replicas: 2}}`
	standbyCronJob      = `{apiVersion: batch/v1, kind: CronJob, metadata: {name: report, namespace: shop, annotations: {drsyncer.io/source-suspend: "false"}}, spec: {suspend: true}}`
	sourceSuspendedCron = `{apiVersion: batch/v1, kind: CronJob, metadata: {name: report, namespace: shop, annotations: {drsyncer.io/source-suspend: "true"}}, spec: {suspend: true}}`
	standbyDaemonSet    = `{apiVersion: apps/v1, kind: DaemonSet, metadata: {name: agent, namespace: shop}, spec: {template: {spec: {nodeSelector: {drsyncer.io/standby: "true", disk: ssd}}}}}`
	configMap           = `{apiVersion: v1, kind: ConfigMap, metadata: {name: cfg, namespace: shop}, data: {a: b}}`
)

func TestPromoteThenDemote(t *testing.T) {
	tests := []struct {
		name         string
		doc          string
		wantPromoted []string
		field        []string // a field that promote changes and demote restores
		standby      any
		running      any
	}{
		{"deployment scaled to the source count", standbyDeployment, []string{"replicas 0 → 3"}, []string{"spec", "replicas"}, int64(0), int64(3)},
		{"statefulset under Preserve left as is", preserveStatefulSet, []string{"marked promoted"}, []string{"spec", "replicas"}, int64(2), int64(2)},
		{"cronjob resumed", standbyCronJob, []string{"suspend true → false"}, []string{"spec", "suspend"}, true, false},
		{"cronjob suspended on the source stays suspended", sourceSuspendedCron, []string{"marked promoted"}, []string{"spec", "suspend"}, true, true},
		{"daemonset leaves standby", standbyDaemonSet, []string{"standby node selector removed"}, []string{"spec", "template", "spec", "nodeSelector", "drsyncer.io/standby"}, "true", nil},
		{"configmap only marked", configMap, []string{"marked promoted"}, []string{"data", "a"}, "b", "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := object(t, tt.doc)
			s, err := Promote(obj, at)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.Changes, tt.wantPromoted) {
				t.Fatalf("promote changes %q, want %q", s.Changes, tt.wantPromoted)
			}
			live := patched(t, obj, s)
			if got, _, _ := unstructured.NestedFieldNoCopy(live.Object, tt.field...); !reflect.DeepEqual(got, tt.running) {
				t.Fatalf("promoted %v = %v, want %v", tt.field, got, tt.running)
			}
			if !mirror.IsPromoted(live) || live.GetAnnotations()["drsyncer.io/promoted"] != "2026-11-30T04:00:00Z" {
				t.Fatalf("not marked promoted: %v", live.GetAnnotations())
			}
			if again, _ := Promote(live, at.Add(time.Hour)); !again.Done() {
				t.Fatalf("promoting twice patches again: %s", again.Patch)
			}
			if disk, _, _ := unstructured.NestedString(live.Object, "spec", "template", "spec", "nodeSelector", "disk"); obj.GetKind() == "DaemonSet" && disk != "ssd" {
				t.Fatal("other node selectors must stay")
			}

			d, err := Demote(live)
			if err != nil {
				t.Fatal(err)
			}
			standby := patched(t, live, d)
			if got, _, _ := unstructured.NestedFieldNoCopy(standby.Object, tt.field...); !reflect.DeepEqual(got, tt.standby) {
				t.Fatalf("demoted %v = %v, want %v", tt.field, got, tt.standby)
			}
			if mirror.IsPromoted(standby) || standby.GetAnnotations()["drsyncer.io/standby-state"] != "" {
				t.Fatalf("marks left after demote: %v", standby.GetAnnotations())
			}
			if again, _ := Demote(standby); !again.Done() {
				t.Fatalf("demoting twice patches again: %s", again.Patch)
			}
		})
	}
}

// A promotion interrupted after the mark but overwritten before it took (or a copy scaled down by
// hand since) is finished by the next run, and the recorded standby state is not overwritten.
func TestPromoteResumesAMarkedCopy(t *testing.T) {
	obj := object(t, standbyDeployment)
	s, _ := Promote(obj, at)
	live := patched(t, obj, s)
	_ = unstructured.SetNestedField(live.Object, int64(0), "spec", "replicas")
	again, err := Promote(live, at.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Changes, []string{"replicas 0 → 3"}) || string(again.Patch) != `{"spec":{"replicas":3}}` {
		t.Fatalf("resume patch %s (%q)", again.Patch, again.Changes)
	}
}

func TestFenceThenUnfence(t *testing.T) {
	tests := []struct {
		name           string
		doc            string
		field          []string
		fenced, before any
	}{
		{"deployment", `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop}, spec: {replicas: 4}}`, []string{"spec", "replicas"}, int64(0), int64(4)},
		{"cronjob", `{apiVersion: batch/v1, kind: CronJob, metadata: {name: report, namespace: shop}, spec: {suspend: false}}`, []string{"spec", "suspend"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := object(t, tt.doc)
			s, err := Fence(obj)
			if err != nil {
				t.Fatal(err)
			}
			live := patched(t, obj, s)
			if got, _, _ := unstructured.NestedFieldNoCopy(live.Object, tt.field...); got != tt.fenced {
				t.Fatalf("fenced %v = %v, want %v", tt.field, got, tt.fenced)
			}
			if again, _ := Fence(live); !again.Done() {
				t.Fatalf("fencing twice patches again: %s", again.Patch)
			}
			u, err := Unfence(live)
			if err != nil {
				t.Fatal(err)
			}
			restored := patched(t, live, u)
			if got, _, _ := unstructured.NestedFieldNoCopy(restored.Object, tt.field...); got != tt.before {
				t.Fatalf("unfenced %v = %v, want %v", tt.field, got, tt.before)
			}
			if _, ok := restored.GetAnnotations()["drsyncer.io/fenced-state"]; ok {
				t.Fatal("fence record left")
			}
		})
	}
	if s, _ := Fence(object(t, standbyDaemonSet)); !s.Done() {
		t.Fatal("a DaemonSet has no count to fence")
	}
}

func TestBadRecordIsAnError(t *testing.T) {
	obj := object(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop, annotations: {drsyncer.io/promoted: "x", drsyncer.io/standby-state: "{not json"}}, spec: {replicas: 3}}`)
	if _, err := Demote(obj); err == nil {
		t.Fatal("a broken standby record must be an error, not a guess")
	}
}

// The standby forms of operators' kinds are undone by promote (the source's values come back, an
// absent field is removed again) and redone by demote.
func TestPromoteRestoresOperatorKinds(t *testing.T) {
	for _, tc := range []struct {
		name, source string
		path         []string
	}{
		{"KEDA ScaledObject", `{apiVersion: keda.sh/v1alpha1, kind: ScaledObject, metadata: {name: w, namespace: shop}, spec: {scaleTargetRef: {name: w}}}`,
			[]string{"metadata", "annotations", "autoscaling.keda.sh/paused"}},
		{"KEDA ScaledJob paused on the source", `{apiVersion: keda.sh/v1alpha1, kind: ScaledJob, metadata: {name: j, namespace: shop, annotations: {autoscaling.keda.sh/paused: "false"}}, spec: {}}`,
			[]string{"metadata", "annotations", "autoscaling.keda.sh/paused"}},
		{"Flux Kustomization", `{apiVersion: kustomize.toolkit.fluxcd.io/v1, kind: Kustomization, metadata: {name: k, namespace: shop}, spec: {suspend: false, path: ./apps}}`,
			[]string{"spec", "suspend"}},
		{"Flux HelmRelease", `{apiVersion: helm.toolkit.fluxcd.io/v2, kind: HelmRelease, metadata: {name: h, namespace: shop}, spec: {interval: 5m}}`,
			[]string{"spec", "suspend"}},
		{"Crossplane managed resource", `{apiVersion: s3.aws.upbound.io/v1beta1, kind: Bucket, metadata: {name: b, namespace: shop}, spec: {forProvider: {region: x}, managementPolicies: ["*"]}}`,
			[]string{"spec", "managementPolicies"}},
		{"Argo CD Application", `{apiVersion: argoproj.io/v1alpha1, kind: Application, metadata: {name: a, namespace: shop}, spec: {syncPolicy: {automated: {prune: true, selfHeal: true}}}}`,
			[]string{"spec", "syncPolicy", "automated"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := object(t, tc.source)
			standby, err := transform.Desired(src, transform.Options{SourceCluster: "source", TargetNamespace: "shop-dr", Replicas: transform.ReplicasZero})
			if err != nil {
				t.Fatal(err)
			}
			value := func(o *unstructured.Unstructured) string {
				v, found, _ := unstructured.NestedFieldCopy(o.Object, tc.path...)
				b, _ := json.Marshal(v)
				return fmt.Sprintf("%v %s", found, b)
			}
			if value(standby) == value(src) {
				t.Fatalf("the standby form did not change %v", tc.path)
			}
			s, err := Promote(standby, at)
			if err != nil {
				t.Fatal(err)
			}
			promoted := patched(t, standby, s)
			if value(promoted) != value(src) {
				t.Fatalf("promoted %v is %s, the source's is %s (patch %s)", tc.path, value(promoted), value(src), s.Patch)
			}
			if again, _ := Promote(promoted, at); !again.Done() {
				t.Fatalf("a second promote changes %s", again.Patch)
			}
			d, err := Demote(promoted)
			if err != nil {
				t.Fatal(err)
			}
			if demoted := patched(t, promoted, d); value(demoted) != value(standby) || mirror.IsPromoted(demoted) {
				t.Fatalf("demoted %v is %s, the standby form's is %s", tc.path, value(demoted), value(standby))
			}
		})
	}
}
