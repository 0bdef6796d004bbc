// Package kubeversion decides what dr-syncer does with the Kubernetes version of a cluster: the
// supported window (OldestMinor to NewestMinor, any skew between source and DR inside it), and
// whether the Go types compiled into this binary and a server's API know the same fields, which
// decides when objects may travel as protobuf (an older server drops unknown protobuf fields
// silently; a newer one sends fields the Go types would drop).
package kubeversion

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/version"
)

// CompiledMinor is the Kubernetes minor version of the k8s.io/api module this is built with
// (v0.37.x). A test compares it with go.mod, so a bump of the module cannot leave it behind.
const CompiledMinor = 37

// The supported window: the oldest maintained upstream minor through the compiled one.
const (
	OldestMinor = 33
	NewestMinor = CompiledMinor
)

// Minor is a server's minor version ("30+" of managed distributions reads as 30).
func Minor(info *version.Info) (int, bool) {
	if info == nil || info.Major != "1" {
		return 0, false
	}
	minor, err := strconv.Atoi(strings.TrimRight(info.Minor, "+"))
	return minor, err == nil
}

// Covers reports whether Go types of Kubernetes 1.<compiled> know every field of a server at
// info: the same or an older minor version. Versions it cannot read are not covered.
func Covers(info *version.Info, compiled int) bool {
	minor, ok := Minor(info)
	return ok && compiled > 0 && minor <= compiled
}

// KnowsCompiled reports whether a server knows every field of the compiled Go types: the same or
// a newer minor version, so that a protobuf write loses nothing.
func KnowsCompiled(info *version.Info) bool {
	minor, ok := Minor(info)
	return ok && minor >= CompiledMinor
}

// Skew says why a cluster's version is outside the supported window, "" when it is inside.
func Skew(info *version.Info) string {
	minor, ok := Minor(info)
	switch {
	case !ok:
		return fmt.Sprintf("its version %q cannot be read", gitVersion(info))
	case minor < OldestMinor:
		return fmt.Sprintf("Kubernetes %s is older than the supported window (v1.%d to v1.%d): mirroring is not tested there", gitVersion(info), OldestMinor, NewestMinor)
	case minor > NewestMinor:
		return fmt.Sprintf("Kubernetes %s is newer than the supported window (v1.%d to v1.%d): fields this dr-syncer does not know are not checked", gitVersion(info), OldestMinor, NewestMinor)
	}
	return ""
}

func gitVersion(info *version.Info) string {
	if info == nil {
		return ""
	}
	if info.GitVersion != "" {
		return info.GitVersion
	}
	return "v" + info.Major + "." + info.Minor
}
