package source

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/pkg/kubeversion"
)

// recorder is a client.Reader that records the type of every list it is asked for and answers
// typed ConfigMap lists with one item.
type recorder struct {
	client.Reader
	asked []string
}

func (r *recorder) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	r.asked = append(r.asked, fmt.Sprintf("%T", list))
	if l, ok := list.(*corev1.ConfigMapList); ok {
		l.Items = []corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "settings"}, Data: map[string]string{"a": "b"}}}
		l.Continue = "next"
	}
	return nil
}

type fixedVersion struct{ minor string }

func (v fixedVersion) ServerVersion() (*version.Info, error) {
	return &version.Info{Major: "1", Minor: v.minor}, nil
}

func TestListsTypedOnlyWhatTheServerCannotOutgrow(t *testing.T) {
	cms := func() *unstructured.UnstructuredList {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
		return l
	}
	same := &recorder{}
	r := &Reader{Reader: same, Version: fixedVersion{strconv.Itoa(kubeversion.CompiledMinor)}}
	l := cms()
	if err := r.List(t.Context(), l); err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || l.Items[0].GetKind() != "ConfigMap" || l.Items[0].GetAPIVersion() != "v1" || l.GetContinue() != "next" {
		t.Fatalf("typed list handed out as %+v", l)
	}
	if data, _, _ := unstructured.NestedStringMap(l.Items[0].Object, "data"); data["a"] != "b" {
		t.Fatalf("content lost: %v", l.Items[0].Object)
	}
	custom := &unstructured.UnstructuredList{}
	custom.SetGroupVersionKind(schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "WidgetList"})
	if err := r.List(t.Context(), custom); err != nil {
		t.Fatal(err)
	}
	newer := &recorder{}
	if err := (&Reader{Reader: newer, Version: fixedVersion{strconv.Itoa(kubeversion.CompiledMinor + 1)}}).List(t.Context(), cms()); err != nil {
		t.Fatal(err)
	}
	unknown := &recorder{}
	if err := (&Reader{Reader: unknown}).List(t.Context(), cms()); err != nil {
		t.Fatal(err)
	}
	got := [][]string{same.asked, newer.asked, unknown.asked}
	want := [][]string{{"*v1.ConfigMapList", "*unstructured.UnstructuredList"}, {"*unstructured.UnstructuredList"}, {"*unstructured.UnstructuredList"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("lists asked for: %v, want %v (typed for a built-in kind on a covered server only)", got, want)
	}
}
