package source

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
	r := &Reader{Reader: same, Version: fixedVersion{strconv.Itoa(CompiledMinor)}}
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
	if err := (&Reader{Reader: newer, Version: fixedVersion{strconv.Itoa(CompiledMinor + 1)}}).List(t.Context(), cms()); err != nil {
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
