package transform

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/drsyncer/dr-syncer/api/keys"
)

// metadataDropped are the metadata fields that describe the source object's life, not its intent.
var metadataDropped = []string{
	"uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
	"deletionGracePeriodSeconds", "managedFields", "ownerReferences", "finalizers", "selfLink", "generateName",
}

// trackingKeys are the labels and annotations by which GitOps tools and Helm recognise the objects
// they manage. A copy that keeps them is adopted, shown OutOfSync or pruned by the same tool on DR,
// so copies drop them unless a target keeps them. Argo CD's older default tracking label,
// app.kubernetes.io/instance, is too common to drop by default (a target's removeLabels can).
var trackingKeys = []string{
	"argocd.argoproj.io/instance",
	"argocd.argoproj.io/tracking-id",
	"kustomize.toolkit.fluxcd.io/name",
	"kustomize.toolkit.fluxcd.io/namespace",
	"helm.toolkit.fluxcd.io/name",
	"helm.toolkit.fluxcd.io/namespace",
	"meta.helm.sh/release-name",
	"meta.helm.sh/release-namespace",
}

// annotationsDropped are annotations that belong to the source cluster's tooling or binding.
var annotationsDropped = []string{
	"kubectl.kubernetes.io/last-applied-configuration",
	"deployment.kubernetes.io/revision",
	"pv.kubernetes.io/bind-completed",
	"pv.kubernetes.io/bound-by-controller",
	"volume.beta.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/selected-node",
}

// Desired returns the DR copy of src for one target, with its spec hash recorded in the
// drsyncer.io/spec-hash annotation. src is not modified.
func Desired(src *unstructured.Unstructured, o Options) (*unstructured.Unstructured, error) {
	out := src.DeepCopy()
	if err := stripMetadata(out, o); err != nil {
		return nil, fmt.Errorf("%s %w", src.GetKind(), err)
	}
	if err := kindSpecific(out, src.GetNamespace(), o); err != nil {
		return nil, err
	}
	if o.Replicas == ReplicasZero {
		if err := standbyOperators(out); err != nil {
			return nil, err
		}
	}
	rewriteImages(out.Object, o.ImageRegistries)
	editMap(out.GetLabels, out.SetLabels, o.AddLabels, o.RemoveLabels)
	editMap(out.GetAnnotations, out.SetAnnotations, o.AddAnnotations, o.RemoveAnnotations)
	if err := applyPatches(out, o.Patches); err != nil {
		return nil, err
	}
	provenance(out, src, o)
	setAnnotation(out, keys.AnnotationSpecHash, Hash(out))
	return out, nil
}

// stripMetadata drops status, the runtime metadata, the annotations never copied and (unless
// kept) the tracking metadata of GitOps tools, and maps the namespace.
func stripMetadata(out *unstructured.Unstructured, o Options) error {
	delete(out.Object, "status")
	meta, _ := out.Object["metadata"].(map[string]any)
	if meta == nil {
		return errors.New("has no metadata")
	}
	for _, f := range metadataDropped {
		delete(meta, f)
	}
	out.SetNamespace(o.TargetNamespace)
	annotations := out.GetAnnotations()
	for _, a := range annotationsDropped {
		delete(annotations, a)
	}
	if !o.KeepTrackingMetadata {
		labels := out.GetLabels()
		for _, k := range trackingKeys {
			delete(labels, k)
			delete(annotations, k)
		}
		out.SetLabels(labels)
	}
	out.SetAnnotations(annotations)
	return nil
}

// kindSpecific makes the kind-specific changes of a DR copy: what is per cluster goes, workloads stand
// by, references to the source namespace follow the mapping.
func kindSpecific(out *unstructured.Unstructured, sourceNamespace string, o Options) error {
	obj := out.Object
	switch kind := out.GetKind(); kind {
	case "Service":
		service(obj, o)
	case "PersistentVolumeClaim":
		pvc(obj, o)
	case "ServiceAccount":
		delete(obj, "secrets") // token Secrets are per cluster
	case "RoleBinding":
		roleBindingSubjects(obj, sourceNamespace, o.TargetNamespace)
	case "NetworkPolicy":
		networkPolicyNamespaces(obj, sourceNamespace, o.TargetNamespace)
	case "Deployment", "StatefulSet", "ReplicaSet":
		if err := replicas(out, o); err != nil {
			return err
		}
		if kind == "StatefulSet" {
			statefulSetClaims(obj, o)
		}
	case "DaemonSet":
		if o.Replicas == ReplicasZero {
			_ = unstructured.SetNestedField(obj, "true", "spec", "template", "spec", "nodeSelector", keys.NodeSelectorStandby)
		}
	case "CronJob":
		if o.SuspendCronJobs {
			suspended, _, _ := unstructured.NestedBool(obj, "spec", "suspend")
			setAnnotation(out, keys.AnnotationSourceSuspend, strconv.FormatBool(suspended))
			_ = unstructured.SetNestedField(obj, true, "spec", "suspend")
		}
	}
	return nil
}

// Hash is a short, stable hash of an object's desired state, excluding the hash annotation.
func Hash(obj *unstructured.Unstructured) string {
	content := obj.Object
	if _, ok := obj.GetAnnotations()[keys.AnnotationSpecHash]; ok {
		// Copies of the two maps on the way to the annotation, not of the whole object.
		content = maps.Clone(obj.Object)
		meta := maps.Clone(content["metadata"].(map[string]any))
		annotations := maps.Clone(meta["annotations"].(map[string]any))
		delete(annotations, keys.AnnotationSpecHash)
		meta["annotations"] = annotations
		content["metadata"] = meta
	}
	b, _ := json.Marshal(content) // map keys marshal sorted: stable
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func service(obj map[string]any, o Options) {
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		return
	}
	// A headless Service must stay headless; any other cluster IP is allocated on DR.
	if spec["clusterIP"] != "None" {
		delete(spec, "clusterIP")
		delete(spec, "clusterIPs")
	}
	delete(spec, "healthCheckNodePort")
	if !o.PreserveNodePorts {
		ports, _ := spec["ports"].([]any)
		for _, p := range ports {
			if pm, ok := p.(map[string]any); ok {
				delete(pm, "nodePort")
			}
		}
	}
}

func pvc(obj map[string]any, o Options) {
	unstructured.RemoveNestedField(obj, "spec", "volumeName")
	mapStorageClass(obj, o.StorageClasses, "spec", "storageClassName")
}

func statefulSetClaims(obj map[string]any, o Options) {
	claims, _, _ := unstructured.NestedSlice(obj, "spec", "volumeClaimTemplates")
	for _, c := range claims {
		if cm, ok := c.(map[string]any); ok {
			delete(cm, "status")
			// The API server adds these in JSON but cannot in protobuf, where embedded objects have
			// no type fields: without them a copy is the same whichever way its source was read.
			delete(cm, "apiVersion")
			delete(cm, "kind")
			mapStorageClass(cm, o.StorageClasses, "spec", "storageClassName")
		}
	}
	if claims != nil {
		_ = unstructured.SetNestedSlice(obj, claims, "spec", "volumeClaimTemplates")
	}
}

func mapStorageClass(obj map[string]any, classes map[string]string, path ...string) {
	if sc, found, _ := unstructured.NestedString(obj, path...); found {
		if to, ok := classes[sc]; ok {
			_ = unstructured.SetNestedField(obj, to, path...)
		}
	}
}

// replicas applies the replica mode and records the source count for promotion.
func replicas(out *unstructured.Unstructured, o Options) error {
	src := int64(1) // the API default
	if v, found, _ := unstructured.NestedFieldNoCopy(out.Object, "spec", "replicas"); found {
		switch n := v.(type) {
		case int64:
			src = n
		case float64:
			src = int64(n)
		default:
			return fmt.Errorf("spec.replicas is a %T, not a number", v)
		}
	}
	switch o.Replicas {
	case ReplicasPreserve, "":
		return nil
	case ReplicasZero:
		_ = unstructured.SetNestedField(out.Object, int64(0), "spec", "replicas")
	case ReplicasFixed:
		_ = unstructured.SetNestedField(out.Object, int64(o.FixedReplicas), "spec", "replicas")
	default:
		return fmt.Errorf("unknown replicas mode %q", o.Replicas)
	}
	setAnnotation(out, keys.AnnotationSourceReplicas, strconv.FormatInt(src, 10))
	return nil
}

func setAnnotation(obj *unstructured.Unstructured, key, value string) {
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[key] = value
	obj.SetAnnotations(annotations)
}

// podSpecPaths are where pod specs live in the kinds that carry one.
var podSpecPaths = [][]string{
	{"spec", "template", "spec"},                        // Deployment, StatefulSet, DaemonSet, Job, ReplicaSet
	{"spec", "jobTemplate", "spec", "template", "spec"}, // CronJob
	{"spec"}, // Pod
}

func rewriteImages(obj map[string]any, rewrites []RegistryRewrite) {
	if len(rewrites) == 0 {
		return
	}
	for _, path := range podSpecPaths {
		podSpec, found, _ := unstructured.NestedMap(obj, path...)
		if !found {
			continue
		}
		changed := false
		for _, field := range []string{"initContainers", "containers", "ephemeralContainers"} {
			containers, _ := podSpec[field].([]any)
			for _, c := range containers {
				cm, ok := c.(map[string]any)
				if !ok {
					continue
				}
				image, _ := cm["image"].(string)
				if img := rewriteImage(image, rewrites); img != image {
					cm["image"], changed = img, true
				}
			}
		}
		if changed {
			_ = unstructured.SetNestedMap(obj, podSpec, path...)
		}
	}
}

// rewriteImage replaces the first matching registry prefix; a prefix matches whole path segments.
func rewriteImage(image string, rewrites []RegistryRewrite) string {
	for _, r := range rewrites {
		from := strings.TrimSuffix(r.From, "/")
		if strings.HasPrefix(image, from+"/") {
			return strings.TrimSuffix(r.To, "/") + image[len(from):]
		}
	}
	return image
}

func editMap(get func() map[string]string, set func(map[string]string), add map[string]string, remove []string) {
	m := get()
	if m == nil {
		m = map[string]string{}
	}
	for _, k := range remove {
		delete(m, k)
	}
	for k, v := range add {
		m[k] = v
	}
	set(m)
}

func applyPatches(out *unstructured.Unstructured, patches []Patch) error {
	var ops []map[string]any
	for _, p := range patches {
		if p.Kind != "" && p.Kind != out.GetKind() {
			continue
		}
		op := map[string]any{"op": p.Op, "path": p.Path}
		if p.Op != "remove" {
			op["value"] = p.Value
		}
		ops = append(ops, op)
	}
	if len(ops) == 0 {
		return nil
	}
	patchJSON, err := json.Marshal(ops)
	if err != nil {
		return fmt.Errorf("failed to encode patches: %w", err)
	}
	patch, err := jsonpatch.DecodePatch(patchJSON)
	if err != nil {
		return fmt.Errorf("invalid patch: %w", err)
	}
	doc, err := json.Marshal(out.Object)
	if err != nil {
		return err
	}
	patched, err := patch.Apply(doc)
	if err != nil {
		return fmt.Errorf("patch does not apply to %s %s: %w", out.GetKind(), out.GetName(), err)
	}
	name, ns, kind, apiVersion := out.GetName(), out.GetNamespace(), out.GetKind(), out.GetAPIVersion()
	obj := map[string]any{}
	if err := json.Unmarshal(patched, &obj); err != nil {
		return err
	}
	out.Object = obj
	if out.GetName() != name || out.GetNamespace() != ns || out.GetKind() != kind || out.GetAPIVersion() != apiVersion {
		return fmt.Errorf("patch changed the identity of %s %s", kind, name)
	}
	return nil
}

func provenance(out, src *unstructured.Unstructured, o Options) {
	labels := out.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[keys.LabelManagedBy] = keys.ManagedByValue
	if o.Replication != "" {
		labels[keys.LabelReplication] = o.Replication
	}
	out.SetLabels(labels)
	annotations := out.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[keys.AnnotationSource] = SourceRef(o.SourceCluster, src.GetNamespace(), src.GetName())
	if uid := string(src.GetUID()); uid != "" {
		annotations[keys.AnnotationSourceUID] = uid
	}
	if o.Owner != "" {
		annotations[keys.AnnotationOwner] = o.Owner
	}
	out.SetAnnotations(annotations)
}

// SourceRef is the value of the drsyncer.io/source annotation.
func SourceRef(cluster, namespace, name string) string {
	return cluster + "/" + namespace + "/" + name
}

// ParseSourceRef splits a drsyncer.io/source value; ok is false when it is not one.
func ParseSourceRef(ref string) (cluster, namespace, name string, ok bool) {
	parts := strings.SplitN(ref, "/", 3)
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}
