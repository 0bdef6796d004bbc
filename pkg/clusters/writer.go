package clusters

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metainternalversionscheme "k8s.io/apimachinery/pkg/apis/meta/internalversion/scheme"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// acceptMetadata asks the API server to answer a write with the object's metadata only.
const acceptMetadata = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1," +
	"application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"

// Writer creates and applies objects on one cluster and reads back only the metadata of the
// result. dr-syncer needs the written object's resourceVersion, not the object it just sent: the
// full answer costs the API server an encoding and dr-syncer a decoding per write, which in an
// initial sync is most of what dr-syncer spends its CPU on besides the writes themselves.
type Writer struct {
	rest   rest.Interface
	mapper meta.RESTMapper
	proto  runtime.Serializer
	// mappings caches what the mapper answers per kind: asking it for every write cost several
	// kilobytes of garbage per object (its misses are errors).
	mappings sync.Map // schema.GroupVersionKind → *meta.RESTMapping
}

// NewWriter builds a Writer sharing httpClient (and so its connections) and cfg's rate limiter.
func NewWriter(cfg *rest.Config, httpClient *http.Client, mapper meta.RESTMapper) (*Writer, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.APIPath = "/"
	cfg.GroupVersion = &schema.GroupVersion{}
	cfg.ContentType = runtime.ContentTypeJSON
	cfg.AcceptContentTypes = acceptMetadata
	cfg.NegotiatedSerializer = metainternalversionscheme.Codecs.WithoutConversion()
	rc, err := rest.RESTClientForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	info, ok := runtime.SerializerInfoForMediaType(clientgoscheme.Codecs.SupportedMediaTypes(), runtime.ContentTypeProtobuf)
	if !ok {
		return nil, fmt.Errorf("no protobuf serializer for the built-in kinds")
	}
	return &Writer{rest: rc, mapper: mapper, proto: info.Serializer}, nil
}

// Create creates obj and returns its new resourceVersion. A built-in kind's Go type travels as
// protobuf; an unstructured object as JSON. Writes are validated strictly: a field the server does
// not know fails the write instead of being dropped (JSON only: a protobuf decoder drops what it
// does not know, which is why the engine sends Go types only to servers that know them all).
func (w *Writer) Create(ctx context.Context, obj client.Object, fieldManager string) (string, error) {
	gvk := w.gvk(obj)
	body, contentType, err := w.encode(obj, gvk)
	if err != nil {
		return "", err
	}
	segments, err := w.path(obj, gvk, false)
	if err != nil {
		return "", err
	}
	return w.do(ctx, gvk, w.rest.Post().AbsPath(segments...).Param("fieldManager", fieldManager).Param("fieldValidation", "Strict").
		SetHeader("Content-Type", contentType).Body(body))
}

// Apply server-side applies u with force and returns the resulting resourceVersion.
func (w *Writer) Apply(ctx context.Context, u *unstructured.Unstructured, fieldManager string) (string, error) {
	body, err := u.MarshalJSON()
	if err != nil {
		return "", err
	}
	gvk := u.GroupVersionKind()
	segments, err := w.path(u, gvk, true)
	if err != nil {
		return "", err
	}
	return w.do(ctx, gvk, w.rest.Patch(types.ApplyPatchType).AbsPath(segments...).Param("fieldManager", fieldManager).Param("force", "true").
		Param("fieldValidation", "Strict").Body(body))
}

func (w *Writer) do(ctx context.Context, gvk schema.GroupVersionKind, req *rest.Request) (string, error) {
	res := req.SetHeader("Accept", acceptMetadata).Do(ctx)
	if err := res.Error(); err != nil {
		if apierrors.IsNotFound(err) {
			// Perhaps the kind's resource went away or moved: ask the mapper again next time.
			w.mappings.Delete(gvk)
		}
		return "", err
	}
	var m metav1.PartialObjectMetadata
	if err := res.Into(&m); err != nil {
		return "", fmt.Errorf("cannot read the API server's answer: %w", err)
	}
	return m.ResourceVersion, nil
}

func (w *Writer) encode(obj client.Object, gvk schema.GroupVersionKind) ([]byte, string, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		b, err := u.MarshalJSON()
		return b, runtime.ContentTypeJSON, err
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	b, err := runtime.Encode(w.proto, obj)
	return b, runtime.ContentTypeProtobuf, err
}

// gvk is obj's kind: from its type for a Go type, from its fields for an unstructured object.
func (w *Writer) gvk(obj client.Object) schema.GroupVersionKind {
	if _, ok := obj.(*unstructured.Unstructured); !ok {
		if gvks, _, err := clientgoscheme.Scheme.ObjectKinds(obj); err == nil {
			return gvks[0]
		}
	}
	return obj.GetObjectKind().GroupVersionKind()
}

// path is the URL of obj's collection (create) or of obj itself; gvk is obj's kind.
func (w *Writer) path(obj client.Object, gvk schema.GroupVersionKind, named bool) ([]string, error) {
	var m *meta.RESTMapping
	if cached, ok := w.mappings.Load(gvk); ok {
		m = cached.(*meta.RESTMapping)
	} else {
		var err error
		if m, err = w.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return nil, err
		}
		w.mappings.Store(gvk, m)
	}
	segments := []string{"api"}
	if gvk.Group != "" {
		segments = []string{"apis", gvk.Group}
	}
	segments = append(segments, gvk.Version)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		segments = append(segments, "namespaces", obj.GetNamespace())
	}
	segments = append(segments, m.Resource.Resource)
	if named {
		segments = append(segments, obj.GetName())
	}
	return segments, nil
}
