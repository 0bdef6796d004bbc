package webhooks

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

// wantErr is one expected field error: its path and a part of its message; empty means no error.
type wantErr struct{ path, msg string }

func checkErrs(t *testing.T, errs field.ErrorList, want wantErr) {
	t.Helper()
	if want.path == "" {
		if len(errs) > 0 {
			t.Fatalf("want no error, got %v", errs)
		}
		return
	}
	for _, e := range errs {
		if e.Field == want.path && strings.Contains(e.Error(), want.msg) {
			return
		}
	}
	t.Fatalf("want an error at %s containing %q, got %v", want.path, want.msg, errs)
}

func spec(targets ...v1alpha1.Target) *v1alpha1.ReplicationSpec {
	return &v1alpha1.ReplicationSpec{Targets: targets}
}

func TestValidateSpec(t *testing.T) {
	withTransforms := func(tr v1alpha1.Transforms) *v1alpha1.ReplicationSpec {
		return spec(v1alpha1.Target{Cluster: "dr", Transforms: &tr})
	}
	tests := []struct {
		name string
		spec *v1alpha1.ReplicationSpec
		want wantErr
	}{
		{"valid cron", &v1alpha1.ReplicationSpec{Mode: v1alpha1.ModeScheduled, Schedule: "*/15 * * * *"}, wantErr{}},
		{"cron out of range", &v1alpha1.ReplicationSpec{Mode: v1alpha1.ModeScheduled, Schedule: "61 * * * *"}, wantErr{"spec.schedule", "61"}},
		{"valid selector", &v1alpha1.ReplicationSpec{Resources: v1alpha1.ResourceSelection{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}}}, wantErr{}},
		{"invalid selector", &v1alpha1.ReplicationSpec{Resources: v1alpha1.ResourceSelection{Selector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Near"}}}}}, wantErr{"spec.resources.selector", "not a valid label selector operator"}},
		{"valid addLabels", withTransforms(v1alpha1.Transforms{AddLabels: map[string]string{"site": "dr"}}), wantErr{}},
		{"invalid label key", withTransforms(v1alpha1.Transforms{AddLabels: map[string]string{"bad key": "x"}}), wantErr{"spec.targets[0].transforms.addLabels[bad key]", "name part must consist"}},
		{"invalid label value", withTransforms(v1alpha1.Transforms{AddLabels: map[string]string{"k": "not ok"}}), wantErr{"spec.targets[0].transforms.addLabels[k]", "a valid label must be"}},
		{"removing the ownership label", withTransforms(v1alpha1.Transforms{RemoveLabels: []string{keys.LabelManagedBy}}), wantErr{"spec.targets[0].transforms.removeLabels[0]", "ownership label"}},
		{"removing provenance", withTransforms(v1alpha1.Transforms{RemoveAnnotations: []string{"team", keys.AnnotationSpecHash}}), wantErr{"spec.targets[0].transforms.removeAnnotations[1]", "provenance"}},
		{"patch with value", withTransforms(v1alpha1.Transforms{Patches: []v1alpha1.JSONPatch{{Op: "add", Path: "/spec/x", Value: &apiextensionsv1.JSON{Raw: []byte(`1`)}}}}), wantErr{}},
		{"remove patch without value", withTransforms(v1alpha1.Transforms{Patches: []v1alpha1.JSONPatch{{Op: "remove", Path: "/spec/x"}}}), wantErr{}},
		{"add patch without value", withTransforms(v1alpha1.Transforms{Patches: []v1alpha1.JSONPatch{{Op: "add", Path: "/spec/x"}}}), wantErr{"spec.targets[0].transforms.patches[0].value", "value is required"}},
		{"patch of identity", withTransforms(v1alpha1.Transforms{Patches: []v1alpha1.JSONPatch{{Op: "remove", Path: "/metadata/name"}}}), wantErr{"spec.targets[0].transforms.patches[0].path", "identity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErrs(t, validateSpec(tt.spec, field.NewPath("spec")), tt.want)
		})
	}
}

func TestValidateClaim(t *testing.T) {
	allowAll := &v1alpha1.RemoteCluster{ObjectMeta: metav1.ObjectMeta{Name: "dr"}, Spec: v1alpha1.RemoteClusterSpec{
		AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"tenant": "yes"}}}}
	noTenants := &v1alpha1.RemoteCluster{ObjectMeta: metav1.ObjectMeta{Name: "closed"}}
	self := &v1alpha1.RemoteCluster{ObjectMeta: metav1.ObjectMeta{Name: "self"}}
	base := world{
		controllerNamespace: "dr-syncer-system",
		sourceServer:        "https://127.0.0.1:6443",
		clusters:            map[string]*v1alpha1.RemoteCluster{"dr": allowAll, "closed": noTenants, "self": self},
		clusterServers:      map[string]string{"dr": "https://dr.example:6443", "self": "https://127.0.0.1:6443/"},
		namespaceLabels:     map[string]map[string]string{"shop": {"tenant": "yes"}, "lab": {}},
	}
	withOthers := base
	withOthers.others = []claim{{ref: "ClusterReplication/prod", spec: spec(v1alpha1.Target{Cluster: "dr", Namespace: "{{.Namespace}}"}), sources: []string{"shop", "web"}}}

	cluster := func(sources []string, targets ...v1alpha1.Target) claim {
		return claim{ref: "ClusterReplication/x", spec: spec(targets...), sources: sources}
	}
	tenant := func(ns string, targets ...v1alpha1.Target) claim {
		return claim{ref: "Replication/" + ns + "/x", namespace: ns, spec: spec(targets...), sources: []string{ns}}
	}
	tests := []struct {
		name        string
		claim       claim
		world       world
		want        wantErr
		wantWarning string
	}{
		{"cluster replication with a template", cluster([]string{"shop", "web"}, v1alpha1.Target{Cluster: "dr", Namespace: "{{.Namespace}}-dr"}), base, wantErr{}, ""},
		{"unknown cluster is a warning", cluster([]string{"shop"}, v1alpha1.Target{Cluster: "later"}), base, wantErr{}, `RemoteCluster "later" does not exist yet`},
		{"fixed namespace merging sources", cluster([]string{"shop", "web"}, v1alpha1.Target{Cluster: "dr", Namespace: "all"}), base, wantErr{"spec.targets[0].namespace", "would merge 2 source namespaces"}, ""},
		{"fixed namespace for one source", cluster([]string{"shop"}, v1alpha1.Target{Cluster: "dr", Namespace: "all"}), base, wantErr{}, ""},
		{"template too long", cluster([]string{strings.Repeat("n", 61)}, v1alpha1.Target{Cluster: "dr", Namespace: "{{.Namespace}}-dr"}), base, wantErr{"spec.targets[0].namespace", "not a valid namespace name"}, ""},
		{"system namespace", cluster(nil, v1alpha1.Target{Cluster: "dr", Namespace: "kube-system"}), base, wantErr{"spec.targets[0].namespace", "system namespace"}, ""},
		{"system namespace by template", cluster([]string{"system"}, v1alpha1.Target{Cluster: "dr", Namespace: "kube-{{.Namespace}}"}), base, wantErr{"spec.targets[0].namespace", "system namespace"}, ""},
		{"controller namespace", cluster(nil, v1alpha1.Target{Cluster: "dr", Namespace: "dr-syncer-system"}), base, wantErr{"spec.targets[0].namespace", "dr-syncer's own namespace"}, ""},
		{"self loop", cluster([]string{"shop"}, v1alpha1.Target{Cluster: "self"}), base, wantErr{"spec.targets[0].cluster", "is the source cluster itself"}, ""},
		{"same cluster, other namespace", cluster([]string{"shop"}, v1alpha1.Target{Cluster: "self", Namespace: "{{.Namespace}}-copy"}), base, wantErr{}, ""},
		{"overlapping claim", cluster([]string{"shop"}, v1alpha1.Target{Cluster: "dr"}), withOthers, wantErr{"spec.targets[0].cluster", "by ClusterReplication/prod"}, ""},
		{"same source, other DR namespace", cluster([]string{"shop"}, v1alpha1.Target{Cluster: "dr", Namespace: "{{.Namespace}}-2"}), withOthers, wantErr{}, ""},
		{"tenant own namespace", tenant("shop", v1alpha1.Target{Cluster: "dr"}), base, wantErr{}, ""},
		{"tenant literal own name", tenant("shop", v1alpha1.Target{Cluster: "dr", Namespace: "shop"}), base, wantErr{}, ""},
		{"tenant other namespace", tenant("shop", v1alpha1.Target{Cluster: "dr", Namespace: "{{.Namespace}}-dr"}), base, wantErr{"spec.targets[0].namespace", "may only write to the DR namespace of its own name"}, ""},
		{"tenant not allowed", tenant("lab", v1alpha1.Target{Cluster: "dr"}), base, wantErr{"spec.targets[0].cluster", `does not allow Replications from namespace "lab"`}, ""},
		{"tenant on cluster allowing none", tenant("shop", v1alpha1.Target{Cluster: "closed"}), base, wantErr{"spec.targets[0].cluster", "does not allow"}, ""},
		{"tenant overlapping cluster replication", tenant("shop", v1alpha1.Target{Cluster: "dr"}), withOthers, wantErr{"spec.targets[0].cluster", "already replicated"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			warnings, errs := validateClaim(tt.claim, tt.world)
			checkErrs(t, errs, tt.want)
			if tt.wantWarning == "" && len(warnings) > 0 {
				t.Fatalf("unexpected warnings %v", warnings)
			}
			if tt.wantWarning != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], tt.wantWarning)) {
				t.Fatalf("warnings = %v, want one containing %q", warnings, tt.wantWarning)
			}
		})
	}
}
