package scope

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

func TestScopeSkipReason(t *testing.T) {
	cm, secret := schema.GroupKind{Kind: "ConfigMap"}, schema.GroupKind{Kind: "Secret"}
	plain := &metav1.ObjectMeta{Name: "a"}
	tests := []struct {
		name       string
		sel        v1alpha1.ResourceSelection
		gk         schema.GroupKind
		secretType string
		want       string // a substring; "" for mirrored
	}{
		{"a default kind", v1alpha1.ResourceSelection{}, cm, "", ""},
		{"a kind not included", v1alpha1.ResourceSelection{Include: []v1alpha1.GroupKind{{Kind: "Secret"}}}, cm, "", "not in resources"},
		{"an excluded kind", v1alpha1.ResourceSelection{Exclude: []v1alpha1.GroupKind{{Kind: "ConfigMap"}}}, cm, "", "not in resources"},
		{"a Helm release", v1alpha1.ResourceSelection{}, secret, SecretTypeHelmRelease, "Helm release"},
		{"a Helm release with includeHelmReleases", v1alpha1.ResourceSelection{IncludeHelmReleases: true}, secret, SecretTypeHelmRelease, ""},
		{"a token, whatever the spec", v1alpha1.ResourceSelection{IncludeHelmReleases: true}, secret, string(corev1.SecretTypeServiceAccountToken), "service-account-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Of(tt.sel).SkipReason(tt.gk, plain, tt.secretType)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestScopeSelectsWithoutTheLabel(t *testing.T) {
	s := Of(v1alpha1.ResourceSelection{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "web"}}})
	if !s.Selects(&metav1.ObjectMeta{Labels: map[string]string{"tier": "web"}}) {
		t.Fatal("an object that lost the replication label is no longer selected")
	}
	if s.Selects(&metav1.ObjectMeta{Labels: map[string]string{"tier": "db", keys.LabelReplication: "x"}}) {
		t.Fatal("an unselected object is selected")
	}
	if sel, err := s.Selector(); err != nil || !strings.Contains(sel.String(), keys.LabelReplication) {
		t.Fatalf("the list selector %v (%v) does not require the label", sel, err)
	}
	bad := Of(v1alpha1.ResourceSelection{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b c"}}})
	if _, err := bad.Selector(); err == nil || bad.Selects(&metav1.ObjectMeta{}) {
		t.Fatal("an invalid selector selects")
	}
}

func TestCoverers(t *testing.T) {
	ns := func(labels, annotations map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: labels, Annotations: annotations}}
	}
	tenant := func(name, namespace string) v1alpha1.Replication {
		return v1alpha1.Replication{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	}
	cr := func(name string, match map[string]string) v1alpha1.ClusterReplication {
		c := v1alpha1.ClusterReplication{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if match != nil {
			c.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: match}
		}
		return c
	}
	gold := map[string]string{"tier": "gold"}
	annotated := map[string]string{keys.AnnotationReplicate: "prod"}
	deleting := tenant("going", "shop")
	deleting.DeletionTimestamp = &metav1.Time{}
	tests := []struct {
		name    string
		ns      *corev1.Namespace
		tenants []v1alpha1.Replication
		crs     []v1alpha1.ClusterReplication
		want    []string
	}{
		{"nothing covers it", ns(nil, nil), nil, []v1alpha1.ClusterReplication{cr("gold", gold)}, nil},
		{"the annotation, before the ClusterReplication exists", ns(nil, annotated), nil, nil, []string{"prod"}},
		{"annotation, then own Replications by name, then selectors", ns(gold, annotated),
			[]v1alpha1.Replication{tenant("b", "shop"), tenant("a", "shop"), tenant("x", "other")},
			[]v1alpha1.ClusterReplication{cr("z-gold", gold), cr("gold", gold), cr("prod", gold)}, []string{"prod", "a", "b", "gold", "z-gold"}},
		{"a Replication being deleted", ns(nil, nil), []v1alpha1.Replication{deleting}, nil, nil},
		{"a system namespace", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", Annotations: annotated}}, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range Coverers(tt.ns, tt.tenants, tt.crs) {
				got = append(got, c.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNamespaceAndResourceLabel(t *testing.T) {
	secrets := Of(v1alpha1.ResourceSelection{Include: []v1alpha1.GroupKind{{Kind: "Secret"}}})
	all := Of(v1alpha1.ResourceSelection{})
	long := strings.Repeat("a", 64)
	coverers := []Coverer{{Name: long, Scope: all}, {Name: "secrets", Scope: secrets}, {Name: "all", Scope: all}}
	if got := NamespaceLabel(coverers); got != "secrets" {
		t.Fatalf("namespace label %q: the first valid name is secrets", got)
	}
	if got := NamespaceLabel(nil); got != "" {
		t.Fatalf("an uncovered namespace is labeled %q", got)
	}
	if got := ResourceLabel(coverers, schema.GroupKind{Kind: "ConfigMap"}, &metav1.ObjectMeta{}, ""); got != "all" {
		t.Fatalf("a ConfigMap is labeled %q: the first coverer that mirrors it is all", got)
	}
	if got := ResourceLabel(coverers, schema.GroupKind{Kind: "Secret"}, &metav1.ObjectMeta{}, SecretTypeHelmRelease); got != "" {
		t.Fatalf("a Helm release nobody includes is labeled %q", got)
	}
}
