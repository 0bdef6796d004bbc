package failover

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/pkg/transform"
)

// SnapshotKey keys a copy in the snapshot promote records: Kind_group_name (none of them holds an
// underscore, and a Secret's keys may).
func SnapshotKey(obj *unstructured.Unstructured) string {
	gvk := obj.GroupVersionKind()
	return gvk.Kind + "_" + gvk.Group + "_" + obj.GetName()
}

// Snapshot is a promoted copy as promote left it, compressed, to tell at demote what changed on DR
// while it served.
func Snapshot(obj *unstructured.Unstructured) ([]byte, error) {
	raw, err := json.Marshal(comparable(obj).Object)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ChangedSince returns what changed on a promoted copy since its snapshot, as a unified diff; ""
// when nothing did. The fields demote sets back (replicas, CronJob suspend, the standby node
// selector, the operators' fields) are not compared: they change on DR by design while it serves.
func ChangedSince(snapshot []byte, live *unstructured.Unstructured) (string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(snapshot))
	if err != nil {
		return "", fmt.Errorf("the snapshot of %s is not valid: %w", SnapshotKey(live), err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return "", fmt.Errorf("the snapshot of %s is not valid: %w", SnapshotKey(live), err)
	}
	before := &unstructured.Unstructured{}
	if err := before.UnmarshalJSON(raw); err != nil {
		return "", fmt.Errorf("the snapshot of %s is not valid: %w", SnapshotKey(live), err)
	}
	a, b := yamlOf(before), yamlOf(comparable(live))
	if a == b {
		return "", nil
	}
	id := fmt.Sprintf("%s %s/%s", live.GetKind(), live.GetNamespace(), live.GetName())
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: difflib.SplitLines(a), B: difflib.SplitLines(b),
		FromFile: id + " at promote", ToFile: id + " now", Context: 3})
}

// comparable is obj without what the API server maintains and what demote sets back.
func comparable(obj *unstructured.Unstructured) *unstructured.Unstructured {
	c := obj.DeepCopy()
	delete(c.Object, "status")
	for _, f := range []string{"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(c.Object, "metadata", "annotations", keys.AnnotationPromoted)
	unstructured.RemoveNestedField(c.Object, "metadata", "annotations", keys.AnnotationStandbyState)
	switch c.GetKind() {
	case "Deployment", "StatefulSet":
		unstructured.RemoveNestedField(c.Object, "spec", "replicas")
	case "CronJob":
		unstructured.RemoveNestedField(c.Object, "spec", "suspend")
	case "DaemonSet":
		unstructured.RemoveNestedField(c.Object, "spec", "template", "spec", "nodeSelector", keys.NodeSelectorStandby)
	}
	if fields, err := transform.SourceFields(obj); err == nil {
		for _, f := range fields {
			unstructured.RemoveNestedField(c.Object, f.Path...)
		}
	}
	return c
}

func yamlOf(obj *unstructured.Unstructured) string {
	b, _ := yaml.Marshal(obj.Object)
	return string(b)
}
