package remotecluster

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
)

func TestVersionSkew(t *testing.T) {
	for _, tc := range []struct {
		minor   string
		status  metav1.ConditionStatus
		message string
	}{
		{"33", metav1.ConditionFalse, "inside the supported window (v1.33 to v1.37)"},
		{"37", metav1.ConditionFalse, "inside"},
		{"31", metav1.ConditionTrue, "older than the supported window"},
		{"39+", metav1.ConditionTrue, "newer than the supported window"},
	} {
		c := versionSkew(&version.Info{Major: "1", Minor: tc.minor, GitVersion: "v1." + strings.TrimSuffix(tc.minor, "+") + ".2"})
		if c.Status != tc.status || !strings.Contains(c.Message, tc.message) {
			t.Errorf("1.%s: %s %q", tc.minor, c.Status, c.Message)
		}
	}
}
