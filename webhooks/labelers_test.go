package webhooks

import (
	"strings"
	"testing"

	"gomodules.xyz/jsonpatch/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
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
	return "set " + ops[0].Value.(map[string]string)[v1alpha1.LabelReplication]
}

func TestNamespaceLabelPatch(t *testing.T) {
	ann := map[string]string{v1alpha1.AnnotationReplicate: "prod"}
	lbl := map[string]string{v1alpha1.LabelReplication: "prod"}
	tests := []struct {
		name     string
		old, new *metav1.ObjectMeta
		want     string
	}{
		{"opt in on create", meta(nil, nil), meta(nil, ann), "set prod"},
		{"opt in with other labels", meta(nil, nil), meta(map[string]string{"a": "b"}, ann), "set prod"},
		{"already labeled", meta(lbl, ann), meta(lbl, ann), "none"},
		{"label follows a renamed annotation", meta(lbl, ann), meta(lbl, map[string]string{v1alpha1.AnnotationReplicate: "dev"}), "set dev"},
		{"annotation removed", meta(lbl, ann), meta(lbl, nil), "remove"},
		{"label set by the controller stays", meta(lbl, nil), meta(lbl, nil), "none"},
		{"plain namespace", meta(nil, nil), meta(nil, nil), "none"},
		{"never an invalid label value", meta(nil, nil), meta(nil, map[string]string{v1alpha1.AnnotationReplicate: strings.Repeat("a", 64)}), "none"},
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
	lbl := map[string]string{v1alpha1.LabelReplication: "prod"}
	tests := []struct {
		name        string
		gk          schema.GroupKind
		obj         *metav1.ObjectMeta
		secretType  string
		replication string
		want        string
	}{
		{"opted-in namespace", cm, meta(nil, nil), "", "prod", "set prod"},
		{"namespace not opted in", cm, meta(nil, nil), "", "", "none"},
		{"already labeled", cm, meta(lbl, nil), "", "prod", "none"},
		{"excluded", cm, meta(map[string]string{v1alpha1.KeyExclude: "true"}, nil), "", "prod", "none"},
		{"excluded later loses the label", cm, meta(map[string]string{v1alpha1.KeyExclude: "true", v1alpha1.LabelReplication: "prod"}, nil), "", "prod", "remove"},
		{"service account token", secret, meta(nil, nil), "kubernetes.io/service-account-token", "prod", "none"},
		{"helm release", secret, meta(nil, nil), "helm.sh/release.v1", "prod", "none"},
		{"opaque secret", secret, meta(nil, nil), "Opaque", "prod", "set prod"},
		{"a name too long for a label value", cm, meta(nil, nil), "", strings.Repeat("a", 64), "none"},
		{"a name that is not a label value", cm, meta(nil, nil), "", "Prod.Main", "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describe(resourceLabelPatch(tt.gk, tt.obj, tt.secretType, tt.replication)); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}
