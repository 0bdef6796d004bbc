// Package access is what dr-syncer may do on a DR cluster: the least-privilege identity that
// `kubectl drsyncer join` creates there (a ServiceAccount, the ClusterRole of exactly what
// mirroring needs, and the right to renew its own token), the kubeconfig that carries its bound
// token, and when that token is renewed. Tests, docs/security.md and join use the same rules.
// Kinds checks, on the source or a DR cluster, that dr-syncer may list and watch a kind before an
// informer is started for it.
package access

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/pkg/scope"
)

// Names on the DR cluster.
const (
	Namespace      = "dr-syncer"
	ServiceAccount = "dr-syncer"
	// ClusterRole is what mirroring needs; the Role of the same name in Namespace lets the
	// ServiceAccount request tokens for itself only.
	ClusterRole = "dr-syncer-mirror"
)

// MirrorVerbs are the verbs mirroring uses on a copied kind: the DR cache lists and watches the
// copies, the engine creates, server-side applies (patch), replaces (delete, create) and prunes.
var MirrorVerbs = []string{"get", "list", "watch", "create", "patch", "delete"}

// NamespaceVerbs: DR namespaces are read (identity, existence) and created, never changed.
var NamespaceVerbs = []string{"get", "list", "watch", "create"}

// Rules are the ClusterRole's rules: MirrorVerbs on every default kind and on each of extra
// (custom resources by group and plural), NamespaceVerbs on Namespaces, and what creating mirrored
// RBAC requires (escalate on Roles, bind on the Roles and ClusterRoles that RoleBindings name).
func Rules(extra []schema.GroupResource) []rbacv1.PolicyRule {
	byGroup := map[string][]string{}
	var groups []string
	add := func(gr schema.GroupResource) {
		if _, ok := byGroup[gr.Group]; !ok {
			groups = append(groups, gr.Group)
		}
		if !slices.Contains(byGroup[gr.Group], gr.Resource) {
			byGroup[gr.Group] = append(byGroup[gr.Group], gr.Resource)
		}
	}
	for _, gk := range scope.DefaultKinds {
		plural, _ := meta.UnsafeGuessKindToResource(gk.WithVersion(""))
		add(plural.GroupResource())
	}
	for _, gr := range extra {
		add(gr)
	}
	rules := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: NamespaceVerbs}}
	for _, g := range groups {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: byGroup[g], Verbs: MirrorVerbs})
	}
	rules = append(rules,
		rbacv1.PolicyRule{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles"}, Verbs: []string{"escalate"}},
		rbacv1.PolicyRule{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles", "clusterroles"}, Verbs: []string{"bind"}})
	return append(rules, ReadinessRules...)
}

// ReadinessRules let dr-syncer see whether the cluster-scoped objects DR copies need exist there
// (failover readiness): it reads them, never writes them.
var ReadinessRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"storage.k8s.io"}, Resources: []string{"storageclasses"}, Verbs: []string{"get"}},
	{APIGroups: []string{"scheduling.k8s.io"}, Resources: []string{"priorityclasses"}, Verbs: []string{"get"}},
	{APIGroups: []string{"node.k8s.io"}, Resources: []string{"runtimeclasses"}, Verbs: []string{"get"}},
	{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingressclasses"}, Verbs: []string{"get"}},
	{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"clusterroles"}, Verbs: []string{"get"}},
}

// Granted returns the resources beyond the default kinds that rules grant MirrorVerbs on: what an
// earlier join added with --resource, which a later join keeps.
func Granted(rules []rbacv1.PolicyRule) []schema.GroupResource {
	defaults := Rules(nil)
	var out []schema.GroupResource
	for _, r := range rules {
		if !slices.Equal(r.Verbs, MirrorVerbs) {
			continue
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				gr := schema.GroupResource{Group: g, Resource: res}
				if !grants(defaults, gr) && !slices.Contains(out, gr) {
					out = append(out, gr)
				}
			}
		}
	}
	return out
}

func grants(rules []rbacv1.PolicyRule, gr schema.GroupResource) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, gr.Group) && slices.Contains(r.Resources, gr.Resource) && slices.Equal(r.Verbs, MirrorVerbs) {
			return true
		}
	}
	return false
}

// Permission is one verb on one resource.
type Permission struct{ Group, Resource, Verb string }

func (p Permission) String() string {
	gr := schema.GroupResource{Group: p.Group, Resource: p.Resource}
	return p.Verb + " " + gr.String()
}

// Needed are the permissions mirroring the default kinds cannot do without, cluster-wide (the DR
// cache lists and watches every namespace). Escalate and bind are left out: they matter only to a
// replication that mirrors RBAC, and an admin may withhold them on purpose.
func Needed() []Permission {
	var out []Permission
	for _, r := range Rules(nil) {
		if !slices.Equal(r.Verbs, MirrorVerbs) && !slices.Equal(r.Verbs, NamespaceVerbs) {
			continue
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					out = append(out, Permission{Group: g, Resource: res, Verb: v})
				}
			}
		}
	}
	return out
}

// TokenRules let the ServiceAccount request tokens for itself, and nobody else.
var TokenRules = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, ResourceNames: []string{ServiceAccount}, Verbs: []string{"create"}}}

// Objects are what join creates on the DR cluster, in order, labeled as dr-syncer's.
func Objects(extra []schema.GroupResource) []client.Object {
	labels := map[string]string{"app.kubernetes.io/name": "dr-syncer", "app.kubernetes.io/component": "dr-identity"}
	meta := func(namespace, name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels}
	}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: Namespace, Name: ServiceAccount}}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: meta("", Namespace)},
		&corev1.ServiceAccount{ObjectMeta: meta(Namespace, ServiceAccount)},
		&rbacv1.ClusterRole{ObjectMeta: meta("", ClusterRole), Rules: Rules(extra)},
		&rbacv1.ClusterRoleBinding{ObjectMeta: meta("", ClusterRole), Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ClusterRole}},
		&rbacv1.Role{ObjectMeta: meta(Namespace, ClusterRole), Rules: TokenRules},
		&rbacv1.RoleBinding{ObjectMeta: meta(Namespace, ClusterRole), Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: ClusterRole}},
	}
	// Typed objects carry no kind of their own; writers and printers need it.
	kinds := []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
	for i, o := range objs {
		gv := corev1.SchemeGroupVersion
		if i >= 2 {
			gv = rbacv1.SchemeGroupVersion
		}
		o.GetObjectKind().SetGroupVersionKind(gv.WithKind(kinds[i]))
	}
	return objs
}

// ParseResources reads custom resources given as "plural.group" (widgets.example.com).
func ParseResources(names []string) ([]schema.GroupResource, error) {
	var out []schema.GroupResource
	for _, n := range names {
		gr := schema.ParseGroupResource(n)
		if gr.Group == "" || gr.Resource == "" {
			return nil, fmt.Errorf("%q: name a custom resource as plural.group, e.g. widgets.example.com", n)
		}
		out = append(out, gr)
	}
	return out, nil
}
