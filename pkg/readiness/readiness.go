// Package readiness decides whether a DR copy can run at failover: what each mirrored object
// needs on the DR cluster (its ConfigMaps and Secrets, ServiceAccount, claims and their
// StorageClass, pull Secrets, PriorityClass, RuntimeClass, IngressClass, Role or ClusterRole, the
// CRD of a custom resource), and which of those the DR cluster lacks. Needs and Missing are pure;
// Checker answers what exists on a DR cluster, with metadata reads.
package readiness

import (
	"cmp"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Ref is an object a DR copy needs. Namespace is empty for cluster-scoped kinds, which are the
// platform admin's to provide: they are reported, never mirrored.
type Ref struct {
	Group, Kind, Namespace, Name string
}

func (r Ref) String() string {
	kind := r.Kind
	if r.Group != "" && r.Kind == "CustomResourceDefinition" {
		return fmt.Sprintf("%s for %s.%s", kind, r.Name, r.Group)
	}
	if r.Namespace == "" {
		return kind + " " + r.Name
	}
	return kind + " " + r.Namespace + "/" + r.Name
}

// GroupKind is the kind of the object referred to.
func (r Ref) GroupKind() schema.GroupKind { return schema.GroupKind{Group: r.Group, Kind: r.Kind} }

// Blocker is a missing object and a copy that needs it.
type Blocker struct {
	Missing  Ref
	NeededBy Ref
}

// podSpecPaths are where the pod template of each workload kind keeps its pod spec.
var podSpecPaths = map[string][]string{
	"Deployment":  {"spec", "template", "spec"},
	"StatefulSet": {"spec", "template", "spec"},
	"DaemonSet":   {"spec", "template", "spec"},
	"ReplicaSet":  {"spec", "template", "spec"},
	"Job":         {"spec", "template", "spec"},
	"CronJob":     {"spec", "jobTemplate", "spec", "template", "spec"},
}

// builtinGroups are the API groups whose kinds need no CRD.
var builtinGroups = []string{"", "apps", "batch", "networking.k8s.io", "rbac.authorization.k8s.io", "autoscaling", "policy",
	"storage.k8s.io", "scheduling.k8s.io", "node.k8s.io", "coordination.k8s.io", "discovery.k8s.io"}

// Needs lists what a desired DR copy needs on the DR cluster to run, without repeats.
func Needs(obj *unstructured.Unstructured) []Ref {
	ns, gk := obj.GetNamespace(), obj.GroupVersionKind().GroupKind()
	var out []Ref
	if path, ok := podSpecPaths[gk.Kind]; ok && isBuiltin(gk) {
		if spec, found, _ := unstructured.NestedMap(obj.Object, path...); found {
			out = podSpecNeeds(spec, ns)
		}
		if gk.Kind == "StatefulSet" {
			out = append(out, claimTemplateNeeds(obj)...)
		}
	}
	switch {
	case !isBuiltin(gk):
		out = append(out, Ref{Group: gk.Group, Kind: "CustomResourceDefinition", Name: gk.Kind})
	case gk.Kind == "PersistentVolumeClaim":
		out = append(out, storageClass(obj.Object, "spec", "storageClassName")...)
	case gk.Kind == "Ingress":
		if class, _, _ := unstructured.NestedString(obj.Object, "spec", "ingressClassName"); class != "" {
			out = append(out, Ref{Group: "networking.k8s.io", Kind: "IngressClass", Name: class})
		}
	case gk.Kind == "RoleBinding":
		out = append(out, roleBindingNeeds(obj, ns)...)
	}
	return unique(out)
}

// RefersInNamespace says objects of a kind may reference others of their namespace (workloads and
// RoleBindings do; a ConfigMap does not).
func RefersInNamespace(gk schema.GroupKind) bool {
	_, workload := podSpecPaths[gk.Kind]
	return isBuiltin(gk) && (workload || gk.Kind == "RoleBinding")
}

func isBuiltin(gk schema.GroupKind) bool { return slices.Contains(builtinGroups, gk.Group) }

// podSpecNeeds are the objects a pod spec refers to, but those marked optional.
func podSpecNeeds(spec map[string]any, ns string) []Ref {
	var out []Ref
	add := func(kind, name string, optional bool) {
		if name != "" && !optional {
			out = append(out, Ref{Kind: kind, Namespace: ns, Name: name})
		}
	}
	sa, _, _ := unstructured.NestedString(spec, "serviceAccountName")
	add("ServiceAccount", sa, false)
	for _, s := range maps(spec, "imagePullSecrets") {
		add("Secret", str(s, "name"), false)
	}
	for _, c := range append(maps(spec, "containers"), append(maps(spec, "initContainers"), maps(spec, "ephemeralContainers")...)...) {
		for _, e := range maps(c, "env") {
			ref, _, _ := unstructured.NestedMap(e, "valueFrom")
			add("ConfigMap", str(sub(ref, "configMapKeyRef"), "name"), optional(sub(ref, "configMapKeyRef")))
			add("Secret", str(sub(ref, "secretKeyRef"), "name"), optional(sub(ref, "secretKeyRef")))
		}
		for _, e := range maps(c, "envFrom") {
			add("ConfigMap", str(sub(e, "configMapRef"), "name"), optional(sub(e, "configMapRef")))
			add("Secret", str(sub(e, "secretRef"), "name"), optional(sub(e, "secretRef")))
		}
	}
	for _, v := range maps(spec, "volumes") {
		add("ConfigMap", str(sub(v, "configMap"), "name"), optional(sub(v, "configMap")))
		add("Secret", str(sub(v, "secret"), "secretName"), optional(sub(v, "secret")))
		add("PersistentVolumeClaim", str(sub(v, "persistentVolumeClaim"), "claimName"), false)
		for _, p := range maps(sub(v, "projected"), "sources") {
			add("ConfigMap", str(sub(p, "configMap"), "name"), optional(sub(p, "configMap")))
			add("Secret", str(sub(p, "secret"), "name"), optional(sub(p, "secret")))
		}
	}
	if pc, _, _ := unstructured.NestedString(spec, "priorityClassName"); pc != "" {
		out = append(out, Ref{Group: "scheduling.k8s.io", Kind: "PriorityClass", Name: pc})
	}
	if rc, _, _ := unstructured.NestedString(spec, "runtimeClassName"); rc != "" {
		out = append(out, Ref{Group: "node.k8s.io", Kind: "RuntimeClass", Name: rc})
	}
	return out
}

// claimTemplateNeeds are the StorageClasses of a StatefulSet's volume claim templates.
func claimTemplateNeeds(obj *unstructured.Unstructured) []Ref {
	templates, _, _ := unstructured.NestedSlice(obj.Object, "spec", "volumeClaimTemplates")
	var out []Ref
	for _, t := range templates {
		if m, ok := t.(map[string]any); ok {
			out = append(out, storageClass(m, "spec", "storageClassName")...)
		}
	}
	return out
}

// storageClass is the StorageClass a claim names; none when it names none (the cluster's default
// then applies, which cannot be told apart from here) or "" (no class: static binding).
func storageClass(obj map[string]any, path ...string) []Ref {
	if class, _, _ := unstructured.NestedString(obj, path...); class != "" {
		return []Ref{{Group: "storage.k8s.io", Kind: "StorageClass", Name: class}}
	}
	return nil
}

// roleBindingNeeds are a RoleBinding's Role or ClusterRole and the ServiceAccounts of its own
// namespace it binds (those of other namespaces are not this copy's to provide).
func roleBindingNeeds(obj *unstructured.Unstructured, ns string) []Ref {
	var out []Ref
	kind, _, _ := unstructured.NestedString(obj.Object, "roleRef", "kind")
	name, _, _ := unstructured.NestedString(obj.Object, "roleRef", "name")
	switch kind {
	case "Role":
		out = append(out, Ref{Group: "rbac.authorization.k8s.io", Kind: "Role", Namespace: ns, Name: name})
	case "ClusterRole":
		out = append(out, Ref{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name})
	}
	subjects, _, _ := unstructured.NestedSlice(obj.Object, "subjects")
	for _, s := range subjects {
		m, _ := s.(map[string]any)
		if str(m, "kind") == "ServiceAccount" && (str(m, "namespace") == "" || str(m, "namespace") == ns) {
			out = append(out, Ref{Kind: "ServiceAccount", Namespace: ns, Name: str(m, "name")})
		}
	}
	return out
}

// Missing lists, for the copies and what each needs, the needed objects that do not exist: what
// another copy provides exists, the rest is what exists says. Sorted, one blocker per missing
// object (the first copy that needs it).
func Missing(needs map[Ref][]Ref, exists func(Ref) bool) []Blocker {
	provided := map[Ref]bool{}
	for copy := range needs {
		provided[copy] = true
	}
	first := map[Ref]Ref{}
	for copy, refs := range needs {
		for _, ref := range refs {
			if prev, seen := first[ref]; !seen || compare(copy, prev) < 0 {
				first[ref] = copy
			}
		}
	}
	var out []Blocker
	for ref, by := range first {
		if !provided[ref] && !exists(ref) {
			out = append(out, Blocker{Missing: ref, NeededBy: by})
		}
	}
	slices.SortFunc(out, func(a, b Blocker) int { return compare(a.Missing, b.Missing) })
	return out
}

func compare(a, b Ref) int {
	return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Group, b.Group))
}

func unique(refs []Ref) []Ref {
	slices.SortFunc(refs, compare)
	return slices.Compact(refs)
}

func maps(m map[string]any, field string) []map[string]any {
	items, _ := m[field].([]any)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		if im, ok := it.(map[string]any); ok {
			out = append(out, im)
		}
	}
	return out
}

func sub(m map[string]any, field string) map[string]any {
	out, _ := m[field].(map[string]any)
	return out
}

func str(m map[string]any, field string) string {
	s, _ := m[field].(string)
	return s
}

func optional(m map[string]any) bool {
	b, _ := m["optional"].(bool)
	return b
}
