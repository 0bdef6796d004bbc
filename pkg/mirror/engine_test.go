package mirror

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/drsyncer/dr-syncer/api/keys"
)

func TestTypedKeepsEveryField(t *testing.T) {
	cm := cm("src/shop/app", "h1", "blue", true)
	got, ok := typed(cm).(*corev1.ConfigMap)
	if !ok || got.Data["color"] != "blue" || got.Annotations["drsyncer.io/spec-hash"] != "h1" || got.Namespace != "shop-dr" {
		t.Fatalf("a built-in kind converts to its Go type with its content: %#v", typed(cm))
	}
	newer := cm.DeepCopy()
	newer.Object["fieldFromANewerAPI"] = "x"
	if typed(newer) != nil {
		t.Fatal("a field the Go type does not know must keep the object unstructured")
	}
	custom := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}}}
	if typed(custom) != nil {
		t.Fatal("a custom resource stays unstructured")
	}
}

// Creates travel as Go types (protobuf) only when the engine may send them.
func TestCreatedCopyIsTypedOnlyWhenAllowed(t *testing.T) {
	c := cm("src/shop/app", "h1", "blue", true)
	if _, ok := createdCopy(c, true).(*corev1.ConfigMap); !ok {
		t.Fatal("a server that knows the compiled types gets a typed create")
	}
	u, ok := createdCopy(c, false).(*unstructured.Unstructured)
	if !ok || u.GetAnnotations()[keys.AnnotationOwnership] != "create" {
		t.Fatalf("an older server gets JSON, still marked: %#v", createdCopy(c, false))
	}
}
