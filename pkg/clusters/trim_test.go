package clusters

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTrimMetadata(t *testing.T) {
	obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: "c", Namespace: "shop-dr", UID: "u1", ResourceVersion: "7",
		Labels: map[string]string{"app.kubernetes.io/managed-by": "dr-syncer", "drsyncer.io/replication": "prod", "team": "web"},
		Annotations: map[string]string{
			"drsyncer.io/source": "source/shop/c", "drsyncer.io/spec-hash": "h", "drsyncer.io/source-uid": "x",
			"kubectl.kubernetes.io/last-applied-configuration": `{"a whole":"object"}`,
		},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "dr-syncer"}},
	}}
	out, err := DRCopyTransform(obj)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*metav1.PartialObjectMetadata)
	if want := map[string]string{"app.kubernetes.io/managed-by": "dr-syncer", "drsyncer.io/replication": "prod"}; !reflect.DeepEqual(got.Labels, want) {
		t.Errorf("labels %v, want %v", got.Labels, want)
	}
	if want := map[string]string{"drsyncer.io/source": "source/shop/c", "drsyncer.io/spec-hash": "h"}; !reflect.DeepEqual(got.Annotations, want) {
		t.Errorf("annotations %v, want %v", got.Annotations, want)
	}
	if got.ManagedFields != nil || got.UID != "u1" || got.ResourceVersion != "7" {
		t.Errorf("managedFields must go, identity and version stay: %+v", got.ObjectMeta)
	}

	src := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "s",
		Labels:      map[string]string{"team": "web"},
		Annotations: map[string]string{"drsyncer.io/exclude": "true", "note": "long"}}}
	out, _ = TrimMetadata(nil, []string{"drsyncer.io/exclude"})(src)
	got = out.(*metav1.PartialObjectMetadata)
	if got.Labels["team"] != "web" || len(got.Annotations) != 1 {
		t.Errorf("nil keepLabels keeps every label, annotations trimmed: %+v", got.ObjectMeta)
	}
	if tomb, _ := DRCopyTransform("not an object"); tomb != "not an object" {
		t.Error("a value that is not an object passes through")
	}
}
