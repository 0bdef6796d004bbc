package clusters

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/pkg/mirror"
)

// TrimMetadata is a cache transform that keeps of each object's metadata only what dr-syncer
// decides with: the labels in keepLabels (every label when keepLabels is nil), the annotations in
// keepAnnotations, and no managedFields. A cache of metadata holds little else, except annotations
// such as kubectl's last-applied-configuration, which repeat a whole object.
func TrimMetadata(keepLabels, keepAnnotations []string) toolscache.TransformFunc {
	return func(in any) (any, error) {
		obj, err := meta.Accessor(in)
		if err != nil {
			return in, nil // a tombstone or another wrapper: left as it is
		}
		obj.SetManagedFields(nil)
		if keepLabels != nil {
			obj.SetLabels(only(obj.GetLabels(), keepLabels))
		}
		obj.SetAnnotations(only(obj.GetAnnotations(), keepAnnotations))
		return in, nil
	}
}

// DRCopyTransform trims the DR caches to what planning, pairing and triggering read. Of the
// managed fields it keeps only the entries of other field managers (their names, not their
// fields), so that a copy someone edited on DR is seen to need a closer look; a copy only
// dr-syncer wrote keeps none.
func DRCopyTransform(in any) (any, error) {
	obj, err := meta.Accessor(in)
	if err != nil {
		return in, nil // a tombstone or another wrapper: left as it is
	}
	var foreign []metav1.ManagedFieldsEntry
	for _, e := range obj.GetManagedFields() {
		if mirror.IsForeignEntry(e, nil) {
			e.FieldsV1 = nil
			foreign = append(foreign, e)
		}
	}
	out, err := trimDRCopy(in)
	obj.SetManagedFields(foreign)
	return out, err
}

var trimDRCopy = TrimMetadata(
	[]string{keys.LabelManagedBy, keys.LabelReplication},
	[]string{keys.AnnotationSource, keys.AnnotationSpecHash, keys.AnnotationOwnership, keys.AnnotationPromoted, keys.AnnotationOwner},
)

func only(m map[string]string, keep []string) map[string]string {
	var out map[string]string
	for _, k := range keep {
		if v, ok := m[k]; ok {
			if out == nil {
				out = make(map[string]string, len(keep))
			}
			out[k] = v
		}
	}
	return out
}
