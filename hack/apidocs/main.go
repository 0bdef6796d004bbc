// Command apidocs writes docs/api.md, the API reference, from the generated CRDs: every field
// with its type, default, allowed values and the doc comment of its Go type. `make manifests`
// runs it, so the reference always matches the schema.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

func main() {
	if err := run(filepath.Join("config", "crd", "bases"), filepath.Join("docs", "api.md")); err != nil {
		fmt.Fprintln(os.Stderr, "apidocs:", err)
		os.Exit(1)
	}
}

func run(dir, out string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	var b strings.Builder
	b.WriteString("# API reference (`drsyncer.io/v1alpha1`)\n\n")
	b.WriteString("Generated from the CRDs by `make manifests` (hack/apidocs). `kubectl explain <kind>.<field>` shows the same text.\n")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		v := crd.Spec.Versions[0]
		fmt.Fprintf(&b, "\n## %s\n\n", crd.Spec.Names.Kind)
		fmt.Fprintf(&b, "Scope: %s. Short names: %s. %s\n\n", crd.Spec.Scope, strings.Join(crd.Spec.Names.ShortNames, ", "), firstParagraph(v.Schema.OpenAPIV3Schema.Description))
		b.WriteString("| field | type | default | description |\n|---|---|---|---|\n")
		for _, top := range []string{"spec", "status"} {
			if p, ok := v.Schema.OpenAPIV3Schema.Properties[top]; ok {
				walk(&b, top, p, v.Schema.OpenAPIV3Schema.Required)
			}
		}
		for _, r := range v.Schema.OpenAPIV3Schema.XValidations {
			fmt.Fprintf(&b, "\nRule checked by the API server (CEL) on `%s`: %s\n", strings.TrimPrefix(r.FieldPath, "."), r.Message)
		}
		if p := v.Schema.OpenAPIV3Schema.Properties["spec"].XValidations; len(p) > 0 {
			b.WriteString("\nRules checked by the API server (CEL) on `spec`:\n\n")
			for _, r := range p {
				fmt.Fprintf(&b, "- %s\n", r.Message)
			}
		}
	}
	return os.WriteFile(out, []byte(b.String()), 0o644)
}

func walk(b *strings.Builder, path string, s apiextensionsv1.JSONSchemaProps, required []string) {
	typ := s.Type
	if s.XIntOrString {
		typ = "int or string"
	}
	if typ == "array" && s.Items != nil && s.Items.Schema != nil {
		typ = "[]" + s.Items.Schema.Type
	}
	def := ""
	if s.Default != nil {
		def = "`" + string(s.Default.Raw) + "`"
	}
	desc := firstParagraph(s.Description)
	if len(s.Enum) > 0 {
		var vals []string
		for _, e := range s.Enum {
			vals = append(vals, "`"+strings.Trim(string(e.Raw), `"`)+"`")
		}
		desc += " One of " + strings.Join(vals, ", ") + "."
	}
	name := path[strings.LastIndex(path, ".")+1:]
	for _, r := range required {
		if r == name {
			desc = "**Required.** " + desc
		}
	}
	fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", path, typ, def, strings.ReplaceAll(desc, "|", "\\|"))
	if path == "status.conditions" || strings.HasSuffix(path, "Selector") || strings.HasSuffix(path, "selector") || strings.HasSuffix(path, "allowedNamespaces") {
		return // standard Kubernetes types
	}
	props := s.Properties
	req := s.Required
	if s.Items != nil && s.Items.Schema != nil {
		props, req = s.Items.Schema.Properties, s.Items.Schema.Required
		path += "[]"
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		walk(b, path+"."+k, props[k], req)
	}
}

func firstParagraph(s string) string {
	p, _, _ := strings.Cut(s, "\n\n")
	return strings.Join(strings.Fields(p), " ")
}
