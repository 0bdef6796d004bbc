package webhooks

import (
	"strings"
	"testing"

	"gomodules.xyz/jsonpatch/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/scope"
)

func meta(labels, annotations map[string]string) *metav1.ObjectMeta {
	return &metav1.ObjectMeta{Name: "x", Labels: labels, Annotations: annotations}
}

func describe(ops []jsonpatch.Operation) string {
	if len(ops) == 0 {
		return "none"
	}
	if ops[0].Operation == "remove" {
		return "remove"
	}
	if v, ok := ops[0].Value.(string); ok {
		return "set " + v
	}
	return "set " + ops[0].Value.(map[string]string)[keys.LabelReplication]
}

func TestNamespaceLabelPatch(t *testing.T) {
	ann := map[string]string{keys.AnnotationReplicate: "prod"}
	lbl := map[string]string{keys.LabelReplication: "prod"}
	tests := []struct {
		name     string
		old, new *metav1.ObjectMeta
		want     string
	}{
		{"opt in on create", meta(nil, nil), meta(nil, ann), "set prod"},
		{"opt in with other labels", meta(nil, nil), meta(map[string]string{"a": "b"}, ann), "set prod"},
		{"already labeled", meta(lbl, ann), meta(lbl, ann), "none"},
		{"label follows a renamed annotation", meta(lbl, ann), meta(lbl, map[string]string{keys.AnnotationReplicate: "dev"}), "set dev"},
		{"annotation removed", meta(lbl, ann), meta(lbl, nil), "remove"},
		{"label set by the controller stays", meta(lbl, nil), meta(lbl, nil), "none"},
		{"plain namespace", meta(nil, nil), meta(nil, nil), "none"},
		{"never an invalid label value", meta(nil, nil), meta(nil, map[string]string{keys.AnnotationReplicate: strings.Repeat("a", 64)}), "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describe(namespaceLabelPatch(tt.old, tt.new)); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestResourceLabelPatch(t *testing.T) {
	cm := schema.GroupKind{Kind: "ConfigMap"}
	secret := schema.GroupKind{Kind: "Secret"}
	lbl := map[string]string{keys.LabelReplication: "prod"}
	prod := []scope.Coverer{{Name: "prod", Scope: scope.Of(v1alpha1.ResourceSelection{})}}
	helm := []scope.Coverer{{Name: "prod", Scope: scope.Of(v1alpha1.ResourceSelection{IncludeHelmReleases: true})}}
	secretsOnly := scope.Of(v1alpha1.ResourceSelection{Include: []v1alpha1.GroupKind{{Kind: "Secret"}}})
	tests := []struct {
		name       string
		coverers   []scope.Coverer
		gk         schema.GroupKind
		obj        *metav1.ObjectMeta
		secretType string
		want       string
	}{
		{"opted-in namespace", prod, cm, meta(nil, nil), "", "set prod"},
		{"namespace not opted in", nil, cm, meta(lbl, nil), "", "none"},
		{"already labeled", prod, cm, meta(lbl, nil), "", "none"},
		{"excluded", prod, cm, meta(map[string]string{keys.KeyExclude: "true"}, nil), "", "none"},
		{"excluded later loses the label", prod, cm, meta(map[string]string{keys.KeyExclude: "true", keys.LabelReplication: "prod"}, nil), "", "remove"},
		{"service account token", prod, secret, meta(nil, nil), "kubernetes.io/service-account-token", "none"},
		{"helm release", prod, secret, meta(nil, nil), "helm.sh/release.v1", "none"},
		{"helm release with includeHelmReleases", helm, secret, meta(nil, nil), "helm.sh/release.v1", "set prod"},
		{"helm release keeps its label through a Helm update", helm, secret, meta(lbl, nil), "helm.sh/release.v1", "none"},
		{"opaque secret", prod, secret, meta(nil, nil), "Opaque", "set prod"},
		{"a kind the replication does not include", []scope.Coverer{{Name: "prod", Scope: secretsOnly}}, cm, meta(lbl, nil), "", "remove"},
		{"the first coverer that mirrors it names it", []scope.Coverer{{Name: "a", Scope: secretsOnly}, prod[0]}, cm, meta(nil, nil), "", "set prod"},
		{"a name too long for a label value", []scope.Coverer{{Name: strings.Repeat("a", 64), Scope: prod[0].Scope}}, cm, meta(nil, nil), "", "none"},
		{"a name that is not a label value", []scope.Coverer{{Name: "Prod.Main", Scope: prod[0].Scope}}, cm, meta(nil, nil), "", "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describe(resourceLabelPatch(tt.coverers, tt.gk, tt.obj, tt.secretType)); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}
