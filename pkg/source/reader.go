// Package source is dr-syncer's side of the source cluster. Informers are the metadata informers
// of the kinds replications include, started when a pass first gathers a kind and stopped when no
// replication has included it for a while. Contents reads the content a pass writes (the cache
// keeps metadata only): only what the pass writes, in pages when many objects of a namespace need
// it, memoized for the pass. Reader lists built-in kinds as protobuf, which costs both sides a
// fraction of JSON, while the server is not newer than the compiled API types (decoding into Go
// types drops the fields they do not know). Labeler backfills the replication label the webhook
// missed, and confirms with a read that a copy's source is gone before its copy is pruned.
package source

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/version"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/pkg/kubeversion"
)

// recheck is how long a server version is trusted: an upgraded server is noticed within it.
const recheck = time.Minute

// Reader is a client.Reader whose LISTs of built-in kinds travel as protobuf when that loses
// nothing. Everything else (single reads, custom resources, a newer server) goes to Reader as is.
type Reader struct {
	client.Reader
	// Version answers the server's version (a discovery client).
	Version interface {
		ServerVersion() (*version.Info, error)
	}

	mu      sync.Mutex
	checked time.Time
	typed   bool
}

// List fills list; an unstructured list of a built-in kind is listed typed when the server allows.
func (r *Reader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	ul, ok := list.(*unstructured.UnstructuredList)
	if !ok || !r.typedAllowed() {
		return r.Reader.List(ctx, list, opts...)
	}
	gvk := ul.GroupVersionKind()
	obj, err := clientgoscheme.Scheme.New(gvk)
	if err != nil {
		return r.Reader.List(ctx, list, opts...) // not a built-in kind
	}
	typed, ok := obj.(client.ObjectList)
	if !ok {
		return r.Reader.List(ctx, list, opts...)
	}
	if err := r.Reader.List(ctx, typed, opts...); err != nil {
		return err
	}
	items, err := meta.ExtractList(typed)
	if err != nil {
		return err
	}
	itemGVK := gvk.GroupVersion().WithKind(strings.TrimSuffix(gvk.Kind, "List"))
	ul.Items = make([]unstructured.Unstructured, 0, len(items))
	for _, item := range items {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(item)
		if err != nil {
			return fmt.Errorf("cannot convert a listed %s: %w", itemGVK.Kind, err)
		}
		u := unstructured.Unstructured{Object: m}
		u.SetGroupVersionKind(itemGVK)
		ul.Items = append(ul.Items, u)
	}
	lm, err := meta.ListAccessor(typed)
	if err != nil {
		return err
	}
	ul.SetResourceVersion(lm.GetResourceVersion())
	ul.SetContinue(lm.GetContinue())
	ul.SetRemainingItemCount(lm.GetRemainingItemCount())
	return nil
}

// typedAllowed says whether the server's API is covered by the compiled types, checked at most
// once per recheck.
func (r *Reader) typedAllowed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Version == nil {
		return false
	}
	if time.Since(r.checked) < recheck {
		return r.typed
	}
	r.checked = time.Now()
	info, err := r.Version.ServerVersion()
	r.typed = err == nil && kubeversion.Covers(info, kubeversion.CompiledMinor)
	return r.typed
}
