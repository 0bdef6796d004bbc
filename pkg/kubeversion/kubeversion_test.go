package kubeversion

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/version"
)

func TestCovers(t *testing.T) {
	tests := []struct {
		major, minor string
		compiled     int
		want         bool
	}{
		{"1", "37", 37, true},
		{"1", "35", 37, true},
		{"1", "36+", 37, true}, // managed distributions mark their builds
		{"1", "38", 37, false}, // newer fields would be dropped
		{"1", "38+", 37, false},
		{"2", "0", 37, false},
		{"1", "", 37, false},
		{"1", "x", 37, false},
		{"1", "30", 0, false}, // compiled version unknown
	}
	for _, tt := range tests {
		if got := Covers(&version.Info{Major: tt.major, Minor: tt.minor}, tt.compiled); got != tt.want {
			t.Errorf("Covers(%s.%s, 1.%d) = %v, want %v", tt.major, tt.minor, tt.compiled, got, tt.want)
		}
	}
	if Covers(nil, 37) {
		t.Error("no version is not covered")
	}
}

func TestKnowsCompiledAndSkew(t *testing.T) {
	for _, tc := range []struct {
		minor string
		knows bool
		skew  string // in the message; "" inside the window
	}{
		{"37", true, ""},
		{"38+", true, "newer than the supported window"},
		{"36", false, ""},
		{"33", false, ""},
		{"32", false, "older than the supported window (v1.33 to v1.37)"},
		{"x", false, "cannot be read"},
	} {
		info := &version.Info{Major: "1", Minor: tc.minor, GitVersion: "v1." + tc.minor + ".0"}
		if got := KnowsCompiled(info); got != tc.knows {
			t.Errorf("KnowsCompiled(1.%s) = %v", tc.minor, got)
		}
		if got := Skew(info); (tc.skew == "") != (got == "") || !strings.Contains(got, tc.skew) {
			t.Errorf("Skew(1.%s) = %q, want %q", tc.minor, got, tc.skew)
		}
	}
}

func TestCompiledMinorMatchesGoMod(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*k8s\.io/api v0\.(\d+)\.`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod does not require k8s.io/api")
	}
	if want, _ := strconv.Atoi(string(m[1])); CompiledMinor != want {
		t.Fatalf("CompiledMinor = %d but go.mod requires k8s.io/api v0.%d: update it", CompiledMinor, want)
	}
}
