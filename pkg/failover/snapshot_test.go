package failover

import (
	"strings"
	"testing"
)

// What changed on DR while a copy served shows as a diff; the fields demote sets back, and what
// the API server maintains, do not.
func TestChangedSince(t *testing.T) {
	promoted := object(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop-dr, resourceVersion: "5",
  annotations: {drsyncer.io/promoted: "2026-12-06T00:00:00Z"}}, spec: {replicas: 3, template: {spec: {containers: [{name: c, image: "web:1"}]}}}}`)
	snap, err := Snapshot(promoted)
	if err != nil {
		t.Fatal(err)
	}
	scaled := promoted.DeepCopy()
	scaled.SetResourceVersion("9")
	scaled.Object["spec"].(map[string]any)["replicas"] = int64(7) // an HPA on DR scaled it
	scaled.Object["status"] = map[string]any{"readyReplicas": int64(7)}
	if d, err := ChangedSince(snap, scaled); err != nil || d != "" {
		t.Fatalf("scaling and status are not work done on DR: %q %v", d, err)
	}
	edited := promoted.DeepCopy()
	edited.Object["spec"].(map[string]any)["template"] = map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": "web:2"}}}}
	d, err := ChangedSince(snap, edited)
	if err != nil || !strings.Contains(d, "-      - image: web:1") || !strings.Contains(d, "+      - image: web:2") || !strings.Contains(d, "Deployment shop-dr/web at promote") {
		t.Fatalf("an image changed on DR is not shown:\n%s (%v)", d, err)
	}
	if _, err := ChangedSince([]byte("not gzip"), edited); err == nil {
		t.Fatal("a broken snapshot is taken for one")
	}
}
