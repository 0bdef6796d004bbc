//go:build tools

// Package tools pins the older kube-apiserver the version-skew tests run (the oldest minor of the
// supported window), next to the current one in hack/tools/kube.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
