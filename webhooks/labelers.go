package webhooks

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/scope"
)

// Both labelers use failurePolicy Ignore and a 2 s timeout: an outage must never block a user's
// workload, and the controller's periodic pass backfills what they missed. The namespaceSelector
// matches kubernetes.io/metadata.name, a label tenants cannot set; the resource labeler's also
// needs the replication label, which the coverage controller keeps on covered namespaces only, so
// that writes elsewhere never wait for dr-syncer.
//
// +kubebuilder:webhook:path=/label-namespace,mutating=true,failurePolicy=ignore,sideEffects=None,groups="",resources=namespaces,verbs=create;update,versions=v1,name=label-namespace.drsyncer.io,admissionReviewVersions=v1,timeoutSeconds=2,serviceName=dr-syncer-webhook,serviceNamespace=dr-syncer-system,patch=`{"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system","kube-public","kube-node-lease","dr-syncer-system"]}]}}`
// +kubebuilder:webhook:path=/label-resource,mutating=true,failurePolicy=ignore,sideEffects=None,groups="";apps;batch;networking.k8s.io;rbac.authorization.k8s.io;autoscaling;policy,resources=configmaps;secrets;services;serviceaccounts;persistentvolumeclaims;deployments;statefulsets;daemonsets;cronjobs;ingresses;networkpolicies;roles;rolebindings;horizontalpodautoscalers;poddisruptionbudgets,verbs=create;update,versions=*,name=label-resource.drsyncer.io,admissionReviewVersions=v1,timeoutSeconds=2,serviceName=dr-syncer-webhook,serviceNamespace=dr-syncer-system,patch=`{"namespaceSelector":{"matchExpressions":[{"key":"drsyncer.io/replication","operator":"Exists"},{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system","kube-public","kube-node-lease","dr-syncer-system"]}]}}`

// labelPath is the JSON pointer of the replication label.
var labelPath = "/metadata/labels/" + strings.ReplaceAll(keys.LabelReplication, "/", "~1")

// namespaceLabeler turns the opt-in annotation into the replication label; removing the
// annotation removes the label.
type namespaceLabeler struct{}

func (namespaceLabeler) Handle(_ context.Context, req admission.Request) admission.Response {
	var ns, old metav1.PartialObjectMetadata
	if err := json.Unmarshal(req.Object.Raw, &ns); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if len(req.OldObject.Raw) > 0 {
		if err := json.Unmarshal(req.OldObject.Raw, &old); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
	}
	return patchResponse(namespaceLabelPatch(&old, &ns))
}

// namespaceLabelPatch decides the label change for a Namespace.
func namespaceLabelPatch(old, ns metav1.Object) []jsonpatch.Operation {
	want := ns.GetAnnotations()[keys.AnnotationReplicate]
	has, labeled := ns.GetLabels()[keys.LabelReplication]
	if len(scope.InvalidReplicationName(want)) > 0 && want != "" {
		return nil // never an invalid label value: the write would fail for the user
	}
	switch {
	case want != "" && has != want:
		return setLabel(ns.GetLabels(), want)
	case want == "" && labeled && old.GetAnnotations()[keys.AnnotationReplicate] != "":
		return []jsonpatch.Operation{{Operation: "remove", Path: labelPath}}
	}
	return nil
}

// resourceLabeler labels the mirrored kinds created or updated in opted-in namespaces.
type resourceLabeler struct {
	client client.Reader
	opts   Options
}

func (l *resourceLabeler) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.UserInfo.Username == l.opts.ControllerUsername || req.Namespace == l.opts.ControllerNamespace || scope.IsSystemNamespace(req.Namespace) {
		return admission.Allowed("")
	}
	var obj struct {
		metav1.ObjectMeta `json:"metadata"`
		Type              string `json:"type"`
	}
	if err := json.Unmarshal(req.Object.Raw, &obj); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	coverers, err := l.coverersOf(ctx, req.Namespace)
	if err != nil {
		// Never block a workload on our own trouble; the periodic pass backfills the label.
		logf.FromContext(ctx).Error(err, "failed to resolve the replications of a namespace", "namespace", req.Namespace)
		return admission.Allowed("")
	}
	gk := schema.GroupKind{Group: req.Kind.Group, Kind: req.Kind.Kind}
	return patchResponse(resourceLabelPatch(coverers, gk, &obj.ObjectMeta, obj.Type))
}

// coverersOf returns the replications that cover a namespace, read from the cache.
func (l *resourceLabeler) coverersOf(ctx context.Context, namespace string) ([]scope.Coverer, error) {
	var ns corev1.Namespace
	if err := l.client.Get(ctx, client.ObjectKey{Name: namespace}, &ns); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	var rs v1alpha1.ReplicationList
	if err := l.client.List(ctx, &rs, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	var crs v1alpha1.ClusterReplicationList
	if err := l.client.List(ctx, &crs); err != nil {
		return nil, err
	}
	return scope.Coverers(&ns, rs.Items, crs.Items), nil
}

// resourceLabelPatch decides the label change for a resource in a namespace with these coverers
// (none: left alone). An object no coverer mirrors loses the label, so that an exclusion added
// later also removes the DR copy under deletionPolicy Delete; the label value is always valid.
func resourceLabelPatch(coverers []scope.Coverer, gk schema.GroupKind, obj metav1.Object, secretType string) []jsonpatch.Operation {
	if len(coverers) == 0 {
		return nil
	}
	has, labeled := obj.GetLabels()[keys.LabelReplication]
	want := scope.ResourceLabel(coverers, gk, obj, secretType)
	switch {
	case want == "" && labeled:
		return []jsonpatch.Operation{{Operation: "remove", Path: labelPath}}
	case want == "" || has == want:
		return nil
	}
	return setLabel(obj.GetLabels(), want)
}

func setLabel(labels map[string]string, value string) []jsonpatch.Operation {
	if labels == nil {
		return []jsonpatch.Operation{{Operation: "add", Path: "/metadata/labels", Value: map[string]string{keys.LabelReplication: value}}}
	}
	return []jsonpatch.Operation{{Operation: "add", Path: labelPath, Value: value}}
}

func patchResponse(ops []jsonpatch.Operation) admission.Response {
	if len(ops) == 0 {
		return admission.Allowed("")
	}
	return admission.Patched("", ops...)
}
