package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/pkg/readiness"
)

// FieldManager is the server-side apply field manager of every DR write.
const FieldManager = "dr-syncer"

// Change is the outcome for one DR object.
type Change struct {
	GroupKind schema.GroupKind
	Namespace string
	Name      string
	Action    Action
	Err       error
	// LiveVersion is the resourceVersion of the DR object after the change, when known: the
	// written object's, or the one whose content was found equal.
	LiveVersion string
	// Owner is the replication that owns the DR object, for a Conflict with another replication.
	Owner string
	// Detail says what drifted, for Correct and ReportDrift.
	Detail string
	// SourceNamespace is the namespace of the source object, when the change had one.
	SourceNamespace string
	// At is when a pass finished with the object.
	At time.Time
	// Needs is what the copy needs on DR to run (failover readiness).
	Needs []readiness.Ref
	// Dropped lists the fields DR did not keep of a copy accepted without them.
	Dropped *DroppedError
}

// driftDetail says what makes a drifted copy differ: the managers whose fields are drift, or a
// value changed without a manager to show for it.
func driftDetail(live metav1.Object, p Policy) string {
	if m := ForeignManagers(live.GetManagedFields(), p.AllowedManagers); len(m) > 0 {
		return "fields set on DR by " + strings.Join(m, ", ")
	}
	return "fields differ from the source"
}

// Engine writes to one DR cluster.
type Engine struct {
	// Client reads and deletes, and writes when Writer is nil.
	Client client.Client
	// Writer, when set, creates and applies and answers with the new resourceVersion only.
	Writer Writer
	// Typed lets creates of built-in kinds travel as protobuf: only to a server that knows every
	// field of the compiled Go types (an older one drops what it does not know, silently).
	Typed bool
	// Verify reads every written copy back and fails it when the server did not keep a field it
	// was sent (a DR cluster older than the source drops fields whose feature is off there).
	Verify bool
	// AcceptDropped accepts such a copy instead, with Change.Dropped saying what it lacks.
	AcceptDropped bool
}

// Writer creates and applies objects and returns their new resourceVersion.
type Writer interface {
	Create(ctx context.Context, obj client.Object, fieldManager string) (string, error)
	Apply(ctx context.Context, obj *unstructured.Unstructured, fieldManager string) (string, error)
}

// clientWriter writes through a controller-runtime client, which decodes the whole answer.
type clientWriter struct{ client.Client }

func (w clientWriter) Create(ctx context.Context, obj client.Object, fieldManager string) (string, error) {
	err := w.Client.Create(ctx, obj, client.FieldOwner(fieldManager))
	return obj.GetResourceVersion(), err
}

func (w clientWriter) Apply(ctx context.Context, obj *unstructured.Unstructured, fieldManager string) (string, error) {
	written := obj.DeepCopy()
	err := w.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(written), client.FieldOwner(fieldManager), client.ForceOwnership)
	return written.GetResourceVersion(), err
}

func (e *Engine) writer() Writer {
	if e.Writer != nil {
		return e.Writer
	}
	return clientWriter{e.Client}
}

// Apply plans from live's metadata (nil when the cache has no copy), reads the full live object
// only when the plan needs its content, and server-side applies desired when the decision writes.
// A write that fails is ActionFailed with the error; nothing is retried here.
func (e *Engine) Apply(ctx context.Context, desired *unstructured.Unstructured, live metav1.Object, p Policy) Change {
	c := Change{GroupKind: desired.GroupVersionKind().GroupKind(), Namespace: desired.GetNamespace(), Name: desired.GetName()}
	action, needsContent := Plan(desired, live, p)
	// The cache holds only managed objects: an object dr-syncer does not own is invisible there,
	// so look before creating, or Skip could overwrite it.
	if needsContent || (action == ActionCreate && !p.LiveIsComplete) {
		full := &unstructured.Unstructured{}
		full.SetGroupVersionKind(desired.GroupVersionKind())
		switch err := e.Client.Get(ctx, client.ObjectKeyFromObject(desired), full); {
		case err == nil:
			action = Decide(desired, full, p)
			if action == ActionUnchanged {
				c.LiveVersion = full.GetResourceVersion()
			}
			live = full
		case apierrors.IsNotFound(err):
			action = ActionCreate
		default:
			c.Err = fmt.Errorf("failed to read %s %s/%s: %w", c.GroupKind.Kind, c.Namespace, c.Name, err)
			c.Action = ActionFailed
			return c
		}
	}
	c.Action = action
	if action == ActionConflict && live != nil && OwnedByAnother(live, desired) {
		c.Owner = live.GetAnnotations()[keys.AnnotationOwner]
	}
	if action == ActionReportDrift && live != nil {
		c.Detail = driftDetail(live, p)
	}
	if !c.Action.Writes() {
		return c
	}
	if c.Action == ActionCreate && p.LiveIsComplete {
		return e.create(ctx, desired, p, c)
	}
	if live != nil && (live.GetAnnotations()[keys.AnnotationOwnership] != "" || HasForeignFields(live, p)) {
		if err := e.takeOver(ctx, desired, live, p); err != nil {
			c.Err, c.Action = err, ActionFailed
			return c
		}
	}
	if live != nil && (c.Action == ActionCorrect || c.Action == ActionReportDrift) {
		c.Detail = driftDetail(live, p)
	}
	return e.apply(ctx, desired, c)
}

func (e *Engine) apply(ctx context.Context, desired *unstructured.Unstructured, c Change) Change {
	version, err := e.writer().Apply(ctx, desired, FieldManager)
	return e.checked(ctx, desired, c.written("apply", version, err))
}

// checked verifies a successful write when the engine is asked to.
func (e *Engine) checked(ctx context.Context, desired *unstructured.Unstructured, c Change) Change {
	if !e.Verify || c.Action == ActionFailed {
		return c
	}
	return e.verify(ctx, desired, c)
}

// written is the change after a write: failed with the error, or at the version written.
func (c Change) written(verb, version string, err error) Change {
	if err != nil {
		c.Err = fmt.Errorf("failed to %s %s %s/%s: %w", verb, c.GroupKind.Kind, c.Namespace, c.Name, err)
		c.Action = ActionFailed
		return c
	}
	c.LiveVersion = version
	return c
}

// create writes an absent copy with a plain create, which costs the API server much less than a
// server-side apply. The copy is marked, so that its first update migrates the ownership of its
// fields to dr-syncer's apply entry; from then on fields dropped from the source are dropped on DR.
func (e *Engine) create(ctx context.Context, desired *unstructured.Unstructured, p Policy, c Change) Change {
	version, err := e.writer().Create(ctx, createdCopy(desired, e.Typed), FieldManager)
	if apierrors.IsAlreadyExists(err) {
		// Someone else's object after all: decide again on what is really there.
		p.LiveIsComplete = false
		return e.Apply(ctx, desired, nil, p)
	}
	return e.checked(ctx, desired, c.written("create", version, err))
}

// createdCopy is desired as a plain create writes it: typed when it can be, marked so that its
// first update migrates field ownership to dr-syncer's apply entry.
func createdCopy(desired *unstructured.Unstructured, asTyped bool) client.Object {
	var obj client.Object
	if asTyped {
		obj = typed(desired) // a copy already
	}
	if obj == nil {
		obj = desired.DeepCopy()
	}
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[keys.AnnotationOwnership] = "create"
	obj.SetAnnotations(annotations)
	return obj
}

// typed converts a built-in kind to its Go type, so that the create travels as protobuf, which the
// API server decodes and encodes for a fraction of what JSON costs it. An object with a field the Go
// type does not know (an API newer than this build) stays unstructured: nothing is dropped.
func typed(u *unstructured.Unstructured) client.Object {
	gvk := u.GroupVersionKind()
	if !clientgoscheme.Scheme.Recognizes(gvk) {
		return nil
	}
	obj, err := clientgoscheme.Scheme.New(gvk)
	if err != nil {
		return nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, obj, true); err != nil {
		return nil
	}
	co, _ := obj.(client.Object)
	return co
}

// takeOver gives dr-syncer's apply entry every field owned by another manager (other than the
// cluster's own controllers and the allowed managers) and by its own plain create, so that the
// apply that follows removes what the desired object does not have: exact convergence, which a
// server-side apply alone never gives, since it leaves other managers' fields in place.
func (e *Engine) takeOver(ctx context.Context, desired *unstructured.Unstructured, seen metav1.Object, p Policy) error {
	// The object read for the decision has the managed fields already; the DR cache's copy has
	// only the names of other managers.
	live := seen
	if !hasFieldSets(seen.GetManagedFields()) {
		m := metadataOf(desired)
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(desired), m); err != nil {
			return fmt.Errorf("failed to read %s %s/%s: %w", desired.GetKind(), desired.GetNamespace(), desired.GetName(), err)
		}
		live = m
	}
	fields, changed, err := TakeOver(live.GetManagedFields(), p.AllowedManagers, desired.GetAPIVersion(), time.Now())
	if err != nil || !changed {
		return err
	}
	patch, err := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/resourceVersion", "value": live.GetResourceVersion()},
		{"op": "replace", "path": "/metadata/managedFields", "value": fields},
	})
	if err != nil {
		return err
	}
	if err := e.Client.Patch(ctx, metadataOf(desired), client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return fmt.Errorf("failed to take over the fields of %s %s/%s: %w", desired.GetKind(), desired.GetNamespace(), desired.GetName(), err)
	}
	return nil
}

// metadataOf addresses the DR object of desired with metadata only, for reads and writes that
// need no content.
func metadataOf(desired *unstructured.Unstructured) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(desired.GroupVersionKind())
	m.SetNamespace(desired.GetNamespace())
	m.SetName(desired.GetName())
	return m
}

// hasFieldSets reports whether managed-fields entries carry their field sets (a full read does;
// the DR cache keeps only the names).
func hasFieldSets(entries []metav1.ManagedFieldsEntry) bool {
	for _, e := range entries {
		if e.FieldsV1 != nil {
			return true
		}
	}
	return false
}

// Delete removes an orphaned DR copy (metadata is enough); an object already gone counts as deleted.
func (e *Engine) Delete(ctx context.Context, obj client.Object) Change {
	c := Change{GroupKind: obj.GetObjectKind().GroupVersionKind().GroupKind(), Namespace: obj.GetNamespace(), Name: obj.GetName(), Action: ActionDelete}
	if err := e.Client.Delete(ctx, obj, client.Preconditions{UID: ptr(obj.GetUID())}); err != nil && !apierrors.IsNotFound(err) {
		c.Err = fmt.Errorf("failed to delete %s %s/%s: %w", c.GroupKind.Kind, c.Namespace, c.Name, err)
		c.Action = ActionFailed
	}
	return c
}

// applyRank orders kinds as DESIGN §3 says: identities and configuration first, then storage and
// Services, then workloads, then what points at workloads. Custom resources go last.
var applyRank = map[string]int{
	"Namespace": 0, "ServiceAccount": 1, "Role": 1, "RoleBinding": 1, "ConfigMap": 1, "Secret": 1,
	"PersistentVolumeClaim": 1, "NetworkPolicy": 1, "Service": 2,
	"Deployment": 3, "StatefulSet": 3, "DaemonSet": 3, "CronJob": 3, "Job": 3,
	"Ingress": 4, "HorizontalPodAutoscaler": 4, "PodDisruptionBudget": 4,
}

// Rank is the apply order of a kind (lower first).
func Rank(gk schema.GroupKind) int {
	if r, ok := applyRank[gk.Kind]; ok && (gk.Group == "" || !isCustom(gk)) {
		return r
	}
	return 5
}

func isCustom(gk schema.GroupKind) bool {
	return !slices.Contains([]string{"", "apps", "batch", "networking.k8s.io", "rbac.authorization.k8s.io", "autoscaling", "policy"}, gk.Group)
}

func ptr[T any](v T) *T { return &v }

// immutableMessages are how the API server says an update changes what only a re-creation can.
var immutableMessages = []string{"immutable", "may not change once set", "updates to statefulset spec for fields other than"}

// IsImmutable reports whether a write was refused because it changes an immutable field (a
// Service turned headless, a new Deployment selector, a PVC's storage class): the copy must be
// replaced, not updated.
func IsImmutable(err error) bool {
	var status apierrors.APIStatus
	if !apierrors.IsInvalid(err) || !errors.As(err, &status) {
		return false
	}
	texts := []string{status.Status().Message}
	if d := status.Status().Details; d != nil {
		for _, c := range d.Causes {
			texts = append(texts, c.Message)
		}
	}
	for _, t := range texts {
		for _, m := range immutableMessages {
			if strings.Contains(t, m) {
				return true
			}
		}
	}
	return false
}

// Replace deletes the live copy (only the very object seen, by UID) and creates desired in its
// place. A copy held on DR by finalizers is deleted once; the create fails until it is gone, and
// a later pass completes the replacement.
func (e *Engine) Replace(ctx context.Context, desired *unstructured.Unstructured, live metav1.Object) Change {
	c := Change{GroupKind: desired.GroupVersionKind().GroupKind(), Namespace: desired.GetNamespace(), Name: desired.GetName(), Action: ActionReplace}
	fail := func(format string, args ...any) Change {
		c.Err, c.Action = fmt.Errorf(format, args...), ActionFailed
		return c
	}
	if live.GetDeletionTimestamp() == nil {
		if err := e.Client.Delete(ctx, metadataOf(desired), client.Preconditions{UID: ptr(live.GetUID())}); err != nil && !apierrors.IsNotFound(err) {
			return fail("failed to delete %s %s/%s to replace it: %w", c.GroupKind.Kind, c.Namespace, c.Name, err)
		}
	}
	version, err := e.writer().Create(ctx, createdCopy(desired, e.Typed), FieldManager)
	switch {
	case apierrors.IsAlreadyExists(err):
		return fail("%s %s/%s is replaced: the old copy is still being deleted on DR (finalizers %v); it is created once that is done",
			c.GroupKind.Kind, c.Namespace, c.Name, live.GetFinalizers())
	case err != nil:
		return fail("failed to create %s %s/%s in place of the old copy: %w", c.GroupKind.Kind, c.Namespace, c.Name, err)
	}
	c.LiveVersion = version
	return e.checked(ctx, desired, c)
}
