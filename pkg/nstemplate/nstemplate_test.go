package nstemplate

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	tests := []struct {
		tmpl, ns, want string
		wantErr        string
	}{
		{"", "shop", "shop", ""},
		{"{{.Namespace}}-dr", "shop", "shop-dr", ""},
		{"dr-{{ .Namespace }}", "shop", "dr-shop", ""},
		{"fixed", "shop", "fixed", ""},
		{"{{.Namespace}}{{.Namespace}}", "ab", "abab", ""},
		{"{{.Name}}", "shop", "", "only use the placeholder"},
		{"{{.Namespace}}-DR", "shop", "", "not a valid namespace name"},
		{"{{.Namespace}}-dr", strings.Repeat("a", 62), "", "not a valid namespace name"},
		{"-{{.Namespace}}", "shop", "", "not a valid namespace name"},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl+"/"+tt.ns, func(t *testing.T) {
			got, err := Render(tt.tmpl, tt.ns)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Render(%q, %q) error = %v, want %q", tt.tmpl, tt.ns, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Render(%q, %q) = %q, %v; want %q", tt.tmpl, tt.ns, got, err, tt.want)
			}
		})
	}
}

func TestIsTemplate(t *testing.T) {
	for tmpl, want := range map[string]bool{"": true, "{{.Namespace}}-dr": true, "{{ .Namespace }}": true, "fixed": false} {
		if got := IsTemplate(tmpl); got != want {
			t.Errorf("IsTemplate(%q) = %v, want %v", tmpl, got, want)
		}
	}
}

func TestForbidden(t *testing.T) {
	for ns, want := range map[string]bool{"kube-system": true, "kube-public": true, "dr-syncer-system": true, "shop": false, "kubeflow": false} {
		if got := Forbidden(ns, "dr-syncer-system") != ""; got != want {
			t.Errorf("Forbidden(%q) = %v, want %v", ns, got, want)
		}
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range []string{"", "{{.Namespace}}-dr", "{{ .Namespace }}", "{{", "}}{{.Namespace"} {
		f.Add(s, "shop")
	}
	f.Fuzz(func(t *testing.T, tmpl, ns string) {
		out, err := Render(tmpl, ns)
		if err == nil && (len(out) == 0 || len(out) > 63 || strings.Contains(out, "{")) {
			t.Fatalf("Render(%q, %q) = %q: accepted an invalid name", tmpl, ns, out)
		}
	})
}
