package webhooks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/robfig/cron/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/nstemplate"
	"github.com/drsyncer/dr-syncer/pkg/scope"
)

// claim is a replication seen by the rules: who it is and which source namespaces it covers.
type claim struct {
	ref       string // "ClusterReplication/prod" or "Replication/shop/app", for messages
	namespace string // the namespace of a Replication; "" for a ClusterReplication
	spec      *v1alpha1.ReplicationSpec
	sources   []string
}

// world is everything the cross-object rules look at, gathered before deciding.
type world struct {
	controllerNamespace string
	// sourceServer is the API server URL of the source cluster, to detect targets pointing back at it.
	sourceServer string
	clusters     map[string]*v1alpha1.RemoteCluster
	// clusterServers maps RemoteCluster names to the server URL in their kubeconfig, when readable.
	clusterServers  map[string]string
	namespaceLabels map[string]map[string]string
	others          []claim
}

// cronParser accepts the standard 5-field cron expressions and descriptors such as @hourly.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// validateSpec checks what the CRD schema cannot express without other objects: the cron
// expression, patches, label keys and the selector.
// validateName checks what the CRD's CEL rule checks (for a CRD older than the webhook): the name
// of a replication is the value of the replication label on everything it covers.
func validateName(name string) field.ErrorList {
	if msgs := scope.InvalidReplicationName(name); len(msgs) > 0 {
		return field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), name,
			"must be a DNS-1123 label of at most 63 characters: the name is the value of the "+keys.LabelReplication+" label on every object it covers ("+strings.Join(msgs, "; ")+")")}
	}
	return nil
}

func validateSpec(spec *v1alpha1.ReplicationSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.Schedule != "" {
		if _, err := cronParser.Parse(spec.Schedule); err != nil {
			errs = append(errs, field.Invalid(p.Child("schedule"), spec.Schedule, err.Error()))
		}
	}
	if sel := spec.Resources.Selector; sel != nil {
		if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			errs = append(errs, field.Invalid(p.Child("resources", "selector"), sel, err.Error()))
		}
	}
	for i, t := range spec.Targets {
		if t.Transforms == nil {
			continue
		}
		tp := p.Child("targets").Index(i).Child("transforms")
		errs = append(errs, validateLabelKeys(t.Transforms.AddLabels, tp.Child("addLabels"), true)...)
		errs = append(errs, validateLabelKeys(t.Transforms.AddAnnotations, tp.Child("addAnnotations"), false)...)
		for j, k := range t.Transforms.RemoveLabels {
			if k == keys.LabelManagedBy || k == keys.LabelReplication {
				errs = append(errs, field.Forbidden(tp.Child("removeLabels").Index(j), fmt.Sprintf("%s is dr-syncer's ownership label", k)))
			}
		}
		for j, k := range t.Transforms.RemoveAnnotations {
			if strings.HasPrefix(k, "drsyncer.io/") {
				errs = append(errs, field.Forbidden(tp.Child("removeAnnotations").Index(j), "drsyncer.io/ annotations hold provenance and cannot be removed"))
			}
		}
		for j, patch := range t.Transforms.Patches {
			if patch.Op != "remove" && patch.Value == nil {
				errs = append(errs, field.Required(tp.Child("patches").Index(j).Child("value"), "value is required unless op is remove"))
			}
			if strings.HasPrefix(patch.Path, "/metadata/name") || strings.HasPrefix(patch.Path, "/metadata/namespace") ||
				strings.HasPrefix(patch.Path, "/kind") || strings.HasPrefix(patch.Path, "/apiVersion") {
				errs = append(errs, field.Forbidden(tp.Child("patches").Index(j).Child("path"), "a patch may not change an object's identity (apiVersion, kind, name, namespace)"))
			}
		}
	}
	return errs
}

func validateLabelKeys(m map[string]string, p *field.Path, valuesAreLabels bool) field.ErrorList {
	var errs field.ErrorList
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // stable error order
	for _, k := range keys {
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p.Key(k), k, strings.Join(msgs, "; ")))
		}
		if valuesAreLabels {
			if msgs := validation.IsValidLabelValue(m[k]); len(msgs) > 0 {
				errs = append(errs, field.Invalid(p.Key(k), m[k], strings.Join(msgs, "; ")))
			}
		}
	}
	return errs
}

// validateClaim applies the cross-object rules of DESIGN §2 to one replication. Unknown
// RemoteClusters are warnings, so that a replication can be applied before its cluster.
func validateClaim(c claim, w world) ([]string, field.ErrorList) {
	var warnings []string
	var errs field.ErrorList
	targets := field.NewPath("spec", "targets")
	for i, t := range c.spec.Targets {
		tp := targets.Index(i)
		rc, known := w.clusters[t.Cluster]
		if !known {
			warnings = append(warnings, fmt.Sprintf("%s: RemoteCluster %q does not exist yet; nothing is mirrored to it until it does", tp.Child("cluster"), t.Cluster))
		}
		if c.namespace != "" {
			errs = append(errs, tenantRules(c, t, rc, w, tp)...)
		}
		if !nstemplate.IsTemplate(t.Namespace) {
			if why := nstemplate.Forbidden(t.Namespace, w.controllerNamespace); why != "" {
				errs = append(errs, field.Forbidden(tp.Child("namespace"), fmt.Sprintf("DR namespace %s: no replication writes there", why)))
				continue
			}
		}
		if !nstemplate.IsTemplate(t.Namespace) && len(c.sources) > 1 {
			errs = append(errs, field.Invalid(tp.Child("namespace"), t.Namespace,
				fmt.Sprintf("a fixed namespace would merge %d source namespaces (%s) into one; use a template such as {{.Namespace}}-dr", len(c.sources), strings.Join(c.sources, ", "))))
			continue
		}
		for _, src := range c.sources {
			dest, err := nstemplate.Render(t.Namespace, src)
			if err != nil {
				errs = append(errs, field.Invalid(tp.Child("namespace"), t.Namespace, err.Error()))
				continue
			}
			if why := nstemplate.Forbidden(dest, w.controllerNamespace); why != "" {
				errs = append(errs, field.Forbidden(tp.Child("namespace"), fmt.Sprintf("DR namespace %s: no replication writes there", why)))
				continue
			}
			if known && dest == src && sameServer(w.clusterServers[t.Cluster], w.sourceServer) {
				errs = append(errs, field.Invalid(tp.Child("cluster"), t.Cluster,
					fmt.Sprintf("RemoteCluster %q is the source cluster itself and namespace %q would be mirrored onto itself", t.Cluster, src)))
				continue
			}
			if other := claimedBy(w.others, src, t.Cluster, dest); other != "" {
				errs = append(errs, field.Duplicate(tp.Child("cluster"),
					fmt.Sprintf("namespace %q is already replicated to cluster %q namespace %q by %s", src, t.Cluster, dest, other)))
			}
		}
	}
	return warnings, errs
}

// tenantRules limit a namespaced Replication: only its own namespace, only to RemoteClusters that
// allow it, only into the DR namespace of the same name.
func tenantRules(c claim, t v1alpha1.Target, rc *v1alpha1.RemoteCluster, w world, tp *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, r := range scope.TenantRefusals(c.namespace, w.namespaceLabels[c.namespace], t, rc) {
		errs = append(errs, field.Forbidden(tp.Child(r.Field), r.Message))
	}
	return errs
}

// claimedBy returns the replication among others that already mirrors src to cluster/dest, or "".
func claimedBy(others []claim, src, cluster, dest string) string {
	for _, o := range others {
		if !slices.Contains(o.sources, src) {
			continue
		}
		for _, t := range o.spec.Targets {
			if t.Cluster != cluster {
				continue
			}
			if d, err := nstemplate.Render(t.Namespace, src); err == nil && d == dest {
				return o.ref
			}
		}
	}
	return ""
}

func sameServer(a, b string) bool {
	norm := func(s string) string { return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "/") }
	return a != "" && norm(a) == norm(b)
}
