package scope

import (
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

func TestKinds(t *testing.T) {
	tests := []struct {
		name string
		sel  v1alpha1.ResourceSelection
		want []schema.GroupKind
	}{
		{"default set", v1alpha1.ResourceSelection{}, DefaultKinds},
		{"include list", v1alpha1.ResourceSelection{Include: []v1alpha1.GroupKind{{Kind: "ConfigMap"}, {Group: "example.com", Kind: "Widget"}}},
			[]schema.GroupKind{{Kind: "ConfigMap"}, {Group: "example.com", Kind: "Widget"}}},
		{"exclude removes", v1alpha1.ResourceSelection{Include: []v1alpha1.GroupKind{{Kind: "ConfigMap"}, {Kind: "Secret"}}, Exclude: []v1alpha1.GroupKind{{Kind: "Secret"}}},
			[]schema.GroupKind{{Kind: "ConfigMap"}}},
		{"never-mirrored kinds dropped", v1alpha1.ResourceSelection{Include: []v1alpha1.GroupKind{{Kind: "Pod"}, {Group: "apps", Kind: "ReplicaSet"}, {Kind: "ConfigMap"}}},
			[]schema.GroupKind{{Kind: "ConfigMap"}}},
		{"duplicates dropped", v1alpha1.ResourceSelection{Include: []v1alpha1.GroupKind{{Kind: "ConfigMap"}, {Kind: "ConfigMap"}}},
			[]schema.GroupKind{{Kind: "ConfigMap"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Kinds(tt.sel); !slices.Equal(got, tt.want) {
				t.Fatalf("Kinds() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSkipReason(t *testing.T) {
	secret := schema.GroupKind{Kind: "Secret"}
	cm := schema.GroupKind{Kind: "ConfigMap"}
	meta := func(mut func(*metav1.ObjectMeta)) *metav1.ObjectMeta {
		m := &metav1.ObjectMeta{Name: "x", Namespace: "ns"}
		if mut != nil {
			mut(m)
		}
		return m
	}
	tests := []struct {
		name        string
		gk          schema.GroupKind
		obj         *metav1.ObjectMeta
		secretType  string
		includeHelm bool
		skipped     bool
	}{
		{"plain configmap", cm, meta(nil), "", false, false},
		{"pod", schema.GroupKind{Kind: "Pod"}, meta(nil), "", false, true},
		{"exclude label", cm, meta(func(m *metav1.ObjectMeta) { m.Labels = map[string]string{keys.KeyExclude: "true"} }), "", false, true},
		{"exclude annotation", cm, meta(func(m *metav1.ObjectMeta) { m.Annotations = map[string]string{keys.KeyExclude: "true"} }), "", false, true},
		{"exclude false", cm, meta(func(m *metav1.ObjectMeta) { m.Labels = map[string]string{keys.KeyExclude: "false"} }), "", false, false},
		{"controller owner", cm, meta(func(m *metav1.ObjectMeta) {
			m.OwnerReferences = []metav1.OwnerReference{{Kind: "Foo", Name: "f", Controller: new(true)}}
		}), "", false, true},
		{"non-controller owner", cm, meta(func(m *metav1.ObjectMeta) {
			m.OwnerReferences = []metav1.OwnerReference{{Kind: "Foo", Name: "f"}}
		}), "", false, false},
		{"sa token secret", secret, meta(nil), string(corev1.SecretTypeServiceAccountToken), false, true},
		{"helm release secret", secret, meta(nil), SecretTypeHelmRelease, false, true},
		{"helm release secret opted in", secret, meta(nil), SecretTypeHelmRelease, true, false},
		{"opaque secret", secret, meta(nil), string(corev1.SecretTypeOpaque), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SkipReason(tt.gk, tt.obj, tt.secretType, tt.includeHelm); (got != "") != tt.skipped {
				t.Fatalf("SkipReason() = %q, want skipped=%v", got, tt.skipped)
			}
		})
	}
}

func TestSourceNamespaces(t *testing.T) {
	ns := func(name string, labels, annotations map[string]string) corev1.Namespace {
		return corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annotations}}
	}
	all := []corev1.Namespace{
		ns("b-annotated", nil, map[string]string{keys.AnnotationReplicate: "prod"}),
		ns("a-selected", map[string]string{"tier": "gold"}, nil),
		ns("other", map[string]string{"tier": "bronze"}, map[string]string{keys.AnnotationReplicate: "staging"}),
		ns("kube-system", map[string]string{"tier": "gold"}, nil),
	}
	gold := &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}
	tests := []struct {
		name     string
		selector *metav1.LabelSelector
		want     []string
	}{
		{"annotation only", nil, []string{"b-annotated"}},
		{"annotation and selector, sorted, no system namespace", gold, []string{"a-selected", "b-annotated"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SourceNamespaces("prod", tt.selector, all); !slices.Equal(got, tt.want) {
				t.Fatalf("SourceNamespaces() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestObjectSelector(t *testing.T) {
	labeled := labels.Set{keys.LabelReplication: "prod", "tier": "web"}
	sel, err := ObjectSelector(v1alpha1.ResourceSelection{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "web"}}})
	if err != nil || !sel.Matches(labeled) || sel.Matches(labels.Set{"tier": "web"}) || sel.Matches(labels.Set{keys.LabelReplication: "prod"}) {
		t.Fatalf("the replication label and resources.selector must both match: %v %v", sel, err)
	}
	if sel, _ := ObjectSelector(v1alpha1.ResourceSelection{}); !sel.Matches(labeled) {
		t.Fatal("without resources.selector every labeled object is selected")
	}
	bad := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Sometimes"}}}
	if _, err := ObjectSelector(v1alpha1.ResourceSelection{Selector: bad}); err == nil || !strings.Contains(err.Error(), "invalid resources.selector") {
		t.Fatalf("a bad selector is an error naming the field: %v", err)
	}
}

func TestClusterScopedIncludes(t *testing.T) {
	namespaced := func(gk schema.GroupKind) (bool, error) {
		switch gk.Kind {
		case "Namespace", "ClusterRole", "StorageClass":
			return false, nil
		case "Gizmo":
			return false, errors.New("no matches for kind Gizmo")
		}
		return true, nil
	}
	sel := v1alpha1.ResourceSelection{Include: []v1alpha1.GroupKind{{Kind: "ConfigMap"}, {Kind: "Namespace"}, {Group: "example.com", Kind: "Gizmo"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}, {Group: "apps", Kind: "Deployment"}}}
	if got := ClusterScopedIncludes(sel, namespaced); !slices.Equal(got, []int{1, 3}) {
		t.Fatalf("ClusterScopedIncludes() = %v, want [1 3] (a kind the mapper does not know is left to the pass)", got)
	}
	if got := ClusterScopedIncludes(v1alpha1.ResourceSelection{}, namespaced); got != nil {
		t.Fatalf("the default set has no cluster-scoped kind, got %v", got)
	}
}

func TestFollowsDependencies(t *testing.T) {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	for _, tc := range []struct {
		name string
		sel  v1alpha1.ResourceSelection
		want bool
	}{
		{"no selector: everything in scope is mirrored already", v1alpha1.ResourceSelection{}, false},
		{"a selector, the default", v1alpha1.ResourceSelection{Selector: sel}, true},
		{"a selector, Follow", v1alpha1.ResourceSelection{Selector: sel, Dependencies: v1alpha1.DependenciesFollow}, true},
		{"a selector, Ignore", v1alpha1.ResourceSelection{Selector: sel, Dependencies: v1alpha1.DependenciesIgnore}, false},
	} {
		if got := Of(tc.sel).FollowsDependencies(); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
