package chart

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// secretVerbsClusterWide are what mirroring needs on Secrets in every namespace: read them
// (metadata cache, content on demand) and patch (label the ones the webhook missed). Nothing may
// create, update or delete Secrets cluster-wide; the controller's own Secrets are in a Role.
var secretVerbsClusterWide = []string{"get", "list", "watch", "patch"}

// TestRBACLeastPrivilege checks the generated RBAC and the chart's rendered RBAC (with every
// optional feature on): no wildcards, and nothing cluster-wide on Secrets beyond mirroring's needs.
func TestRBACLeastPrivilege(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs := append(decode(t, b), render(t, "serviceMonitor.enabled=true", "prometheusRule.enabled=true", "networkPolicy.enabled=true")...)
	checked := 0
	for _, o := range objs {
		if o.GetKind() != "ClusterRole" && o.GetKind() != "Role" {
			continue
		}
		checked++
		rules, _ := o.Object["rules"].([]any)
		for _, r := range rules {
			rule, _ := r.(map[string]any)
			verbs, resources := strs(rule["verbs"]), strs(rule["resources"])
			if slices.Contains(verbs, "*") || slices.Contains(resources, "*") || slices.Contains(strs(rule["apiGroups"]), "*") {
				t.Errorf("%s %s grants a wildcard: %v", o.GetKind(), o.GetName(), rule)
			}
			if o.GetKind() == "ClusterRole" && slices.Contains(resources, "secrets") {
				for _, v := range verbs {
					if !slices.Contains(secretVerbsClusterWide, v) {
						t.Errorf("ClusterRole %s grants %q on Secrets in every namespace", o.GetName(), v)
					}
				}
			}
		}
	}
	if checked < 2 {
		t.Fatalf("found %d roles to check; the chart or config/rbac changed shape", checked)
	}
}

func strs(v any) []string {
	if v == nil {
		return nil
	}
	return toStrings(v)
}
