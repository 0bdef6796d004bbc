package mirror

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DroppedFields lists the fields of sent that the server did not keep (kept is what it returned),
// as dotted paths: what a server drops silently, a field its version does not know or whose
// feature is off there. Empty values are not compared (a server may leave them out), nor is status.
func DroppedFields(sent, kept map[string]any) []string {
	var out []string
	dropped("", sent, kept, &out)
	slices.Sort(out)
	return out
}

func dropped(path string, sent, kept any, out *[]string) {
	switch s := sent.(type) {
	case map[string]any:
		k, _ := kept.(map[string]any)
		for key, v := range s {
			if (path == "" && key == "status") || isEmpty(v) {
				continue
			}
			at := key
			if path != "" {
				at = path + "." + key
			}
			kv, ok := k[key]
			if !ok {
				*out = append(*out, at)
				continue
			}
			dropped(at, v, kv, out)
		}
	case []any:
		k, _ := kept.([]any)
		for i, v := range s {
			if i >= len(k) {
				*out = append(*out, path+"["+strconv.Itoa(i)+"]")
				continue
			}
			dropped(path+"["+strconv.Itoa(i)+"]", v, k[i], out)
		}
	}
}

// verify reads back a written copy and fails the change when the DR server did not keep every
// field it was sent.
func (e *Engine) verify(ctx context.Context, desired *unstructured.Unstructured, c Change) Change {
	kept := &unstructured.Unstructured{}
	kept.SetGroupVersionKind(desired.GroupVersionKind())
	if err := e.Client.Get(ctx, client.ObjectKeyFromObject(desired), kept); err != nil {
		c.Err, c.Action = fmt.Errorf("failed to read %s %s/%s back: %w", c.GroupKind.Kind, c.Namespace, c.Name, err), ActionFailed
		return c
	}
	fields := DroppedFields(desired.Object, kept.Object)
	switch {
	case len(fields) == 0:
	case e.AcceptDropped:
		c.Dropped = &DroppedError{Fields: fields}
	default:
		c.Err, c.Action = &DroppedError{Fields: fields}, ActionFailed
	}
	return c
}

// DroppedError says which fields the DR server did not keep; Where names the cluster and its
// version, when known.
type DroppedError struct {
	Fields []string
	Where  string
}

func (e *DroppedError) Error() string {
	where := e.Where
	if where == "" {
		where = "the DR cluster"
	}
	verb := "is"
	if len(e.Fields) > 1 {
		verb = "are"
	}
	return fmt.Sprintf("%s %s not kept by %s: its API does not know them, or their feature is off there", strings.Join(e.Fields, ", "), verb, where)
}

// IsUnknownField reports whether a strictly validated write was refused for a field the server
// does not know.
func IsUnknownField(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "unknown field") || strings.Contains(msg, "field not declared in schema")
}
