package access

import (
	"encoding/base64"
	"slices"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func allowed(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) && len(r.ResourceNames) == 0 {
			return true
		}
	}
	return false
}

func TestRulesAreWhatMirroringNeeds(t *testing.T) {
	rules := Rules([]schema.GroupResource{{Group: "example.com", Resource: "widgets"}})
	cases := []struct {
		group, resource, verb string
		want                  bool
	}{
		{"", "configmaps", "create", true},
		{"", "secrets", "delete", true},
		{"", "persistentvolumeclaims", "patch", true},
		{"apps", "deployments", "watch", true},
		{"networking.k8s.io", "ingresses", "list", true},
		{"networking.k8s.io", "networkpolicies", "get", true},
		{"autoscaling", "horizontalpodautoscalers", "patch", true},
		{"policy", "poddisruptionbudgets", "create", true},
		{"rbac.authorization.k8s.io", "rolebindings", "create", true},
		{"rbac.authorization.k8s.io", "roles", "escalate", true},
		{"rbac.authorization.k8s.io", "clusterroles", "bind", true},
		{"example.com", "widgets", "patch", true},
		{"", "namespaces", "create", true},
		// Never: changing what dr-syncer did not create, or anything beyond the copies.
		{"", "configmaps", "update", false},
		{"", "namespaces", "delete", false},
		{"", "namespaces", "patch", false},
		{"", "pods", "get", false},
		{"rbac.authorization.k8s.io", "clusterroles", "create", false},
		{"rbac.authorization.k8s.io", "clusterrolebindings", "create", false},
		{"example.com", "gadgets", "get", false},
		{"", "serviceaccounts/token", "create", false}, // only in the Role, for itself
	}
	for _, c := range cases {
		if got := allowed(rules, c.group, c.resource, c.verb); got != c.want {
			t.Errorf("%s %s.%s allowed = %v, want %v", c.verb, c.resource, c.group, got, c.want)
		}
	}
	for _, r := range rules {
		if slices.Contains(r.Verbs, "*") || slices.Contains(r.Resources, "*") || slices.Contains(r.APIGroups, "*") {
			t.Errorf("wildcard rule %v", r)
		}
	}
}

func TestObjectsBindTheRoles(t *testing.T) {
	objs := Objects(nil)
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetObjectKind().GroupVersionKind().Kind)
	}
	want := []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("objects %v, want %v", kinds, want)
	}
	rb := objs[5].(*rbacv1.RoleBinding)
	if rb.Subjects[0].Name != ServiceAccount || rb.Subjects[0].Namespace != Namespace || rb.RoleRef.Name != objs[4].GetName() {
		t.Fatalf("the token Role is bound to %v", rb.Subjects)
	}
	if got := objs[4].(*rbacv1.Role).Rules[0].ResourceNames; !slices.Equal(got, []string{ServiceAccount}) {
		t.Fatalf("the ServiceAccount may request tokens for %v", got)
	}
}

func TestParseResources(t *testing.T) {
	got, err := ParseResources([]string{"widgets.example.com", "certificates.cert-manager.io"})
	if err != nil || got[0] != (schema.GroupResource{Group: "example.com", Resource: "widgets"}) || got[1].Group != "cert-manager.io" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"widgets", ""} {
		if _, err := ParseResources([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(payload)) + ".c2ln"
}

func TestBoundTokens(t *testing.T) {
	bound := jwt(`{"iat":1000,"exp":4600,"kubernetes.io":{"namespace":"dr-syncer","serviceaccount":{"name":"dr-syncer","uid":"x"}}}`)
	tok, ok := ParseBoundToken(bound)
	if !ok || tok.Namespace != "dr-syncer" || tok.ServiceAccount != "dr-syncer" || tok.Lifetime() != time.Hour {
		t.Fatalf("parsed %+v, %v", tok, ok)
	}
	if got := tok.RenewAt(); !got.Equal(time.Unix(1000+2400, 0)) {
		t.Fatalf("renew at %v, want two thirds into its life", got)
	}
	for name, token := range map[string]string{
		"static":           "abcdef0123456789",
		"no expiry":        jwt(`{"iat":1000,"kubernetes.io":{"serviceaccount":{"name":"x"}}}`),
		"not a ServiceAcc": jwt(`{"iat":1000,"exp":2000,"sub":"someone"}`),
		"garbage payload":  "a.!!!.c",
	} {
		if _, ok := ParseBoundToken(token); ok {
			t.Errorf("%s token taken for a bound one", name)
		}
	}
}

func TestKubeconfigToken(t *testing.T) {
	kc, err := Kubeconfig("https://dr.example:6443", []byte("CA"), "first")
	if err != nil {
		t.Fatal(err)
	}
	kc, err = WithToken(kc, "second")
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := TokenOf(kc); err != nil || tok != "second" {
		t.Fatalf("token %q, %v", tok, err)
	}
}

// A second join (another source cluster, or the same without --resource) keeps what an earlier
// one granted.
func TestGrantedKeepsEarlierResources(t *testing.T) {
	widgets, gadgets := schema.GroupResource{Group: "example.com", Resource: "widgets"}, schema.GroupResource{Group: "example.com", Resource: "gadgets"}
	got := Granted(Rules([]schema.GroupResource{widgets, gadgets}))
	if !slices.Equal(got, []schema.GroupResource{widgets, gadgets}) {
		t.Fatalf("granted %v", got)
	}
	if got := Granted(Rules(nil)); len(got) != 0 {
		t.Fatalf("the defaults count as extra: %v", got)
	}
	readOnly := []rbacv1.PolicyRule{{APIGroups: []string{"example.com"}, Resources: []string{"gizmos"}, Verbs: []string{"get", "list"}}}
	if got := Granted(readOnly); len(got) != 0 {
		t.Fatalf("a rule that is not join's counts: %v", got)
	}
}

func TestNeededIsWhatMirroringTheDefaultsUses(t *testing.T) {
	needed := Needed()
	for _, p := range []Permission{{"", "configmaps", "create"}, {"apps", "deployments", "watch"}, {"", "namespaces", "create"}} {
		if !slices.Contains(needed, p) {
			t.Errorf("%s is not checked", p)
		}
	}
	for _, p := range needed {
		if p.Verb == "escalate" || p.Verb == "bind" || (p.Resource == "namespaces" && p.Verb == "delete") {
			t.Errorf("%s is checked", p)
		}
	}
	if got := (Permission{"apps", "deployments", "create"}).String(); got != "create deployments.apps" {
		t.Errorf("String() = %q", got)
	}
}
