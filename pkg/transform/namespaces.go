package transform

// The namespace label every namespace carries (set by the API server) and NetworkPolicies select on.
const labelNamespaceName = "kubernetes.io/metadata.name"

// roleBindingSubjects points ServiceAccount subjects of the source namespace at the DR namespace:
// without it the standby's workloads run without the permissions the binding gives them.
func roleBindingSubjects(obj map[string]any, from, to string) {
	subjects, _ := obj["subjects"].([]any)
	for _, s := range subjects {
		if m, ok := s.(map[string]any); ok && m["kind"] == "ServiceAccount" && m["namespace"] == from {
			m["namespace"] = to
		}
	}
}

// networkPolicyNamespaces points the namespace selectors of a NetworkPolicy that name the source
// namespace (by its kubernetes.io/metadata.name label) at the DR namespace.
func networkPolicyNamespaces(obj map[string]any, from, to string) {
	spec, _ := obj["spec"].(map[string]any)
	for _, dir := range []struct{ rules, peers string }{{"ingress", "from"}, {"egress", "to"}} {
		rules, _ := spec[dir.rules].([]any)
		for _, r := range rules {
			rule, _ := r.(map[string]any)
			peers, _ := rule[dir.peers].([]any)
			for _, p := range peers {
				peer, _ := p.(map[string]any)
				if sel, ok := peer["namespaceSelector"].(map[string]any); ok {
					namespaceSelector(sel, from, to)
				}
			}
		}
	}
}

func namespaceSelector(sel map[string]any, from, to string) {
	if labels, ok := sel["matchLabels"].(map[string]any); ok && labels[labelNamespaceName] == from {
		labels[labelNamespaceName] = to
	}
	exprs, _ := sel["matchExpressions"].([]any)
	for _, e := range exprs {
		expr, _ := e.(map[string]any)
		if expr["key"] != labelNamespaceName {
			continue
		}
		values, _ := expr["values"].([]any)
		for i, v := range values {
			if v == from {
				values[i] = to
			}
		}
	}
}
