// Package nstemplate renders destination-namespace templates such as "{{.Namespace}}-dr" and
// decides which DR namespaces may never be written to. Pure; shared by webhooks and controllers.
package nstemplate

import (
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// placeholder matches the only placeholder a template may hold, with optional inner spaces.
var placeholder = regexp.MustCompile(`\{\{ *\.Namespace *\}\}`)

// IsTemplate reports whether tmpl depends on the source namespace (empty means "same name").
func IsTemplate(tmpl string) bool {
	return tmpl == "" || placeholder.MatchString(tmpl)
}

// Render returns the DR namespace for a source namespace. An empty template means the same name.
// The result must be a DNS-1123 label; otherwise the error says why.
func Render(tmpl, namespace string) (string, error) {
	out := namespace
	if tmpl != "" {
		out = placeholder.ReplaceAllLiteralString(tmpl, namespace)
	}
	if strings.Contains(out, "{{") || strings.Contains(out, "}}") {
		return "", fmt.Errorf("template %q may only use the placeholder {{.Namespace}}", tmpl)
	}
	if errs := validation.IsDNS1123Label(out); len(errs) > 0 {
		return "", fmt.Errorf("renders %q for namespace %q, which is not a valid namespace name: %s", out, namespace, strings.Join(errs, "; "))
	}
	return out, nil
}

// Forbidden says why no replication may write into the DR namespace ns, or "" when it may.
// System namespaces and the controller's own namespace are never targets.
func Forbidden(ns, controllerNamespace string) string {
	switch {
	case strings.HasPrefix(ns, "kube-"):
		return fmt.Sprintf("%q is a system namespace", ns)
	case ns == controllerNamespace:
		return fmt.Sprintf("%q is dr-syncer's own namespace", ns)
	}
	return ""
}
