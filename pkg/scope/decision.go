package scope

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
)

// Scope answers "is this object mirrored?" for one replication, decided once from its spec. The
// labeling webhook, the backfill, the pass and kubectl drsyncer diff all ask it, so that no two
// of them disagree (a Helm release Secret labeled by one and unlabeled by another loses its copy).
type Scope struct {
	kinds               []schema.GroupKind
	selector            labels.Selector // the label and resources.selector
	chosen              labels.Selector // resources.selector alone
	selectorErr         error
	includeHelmReleases bool
	// follows says a selector narrows what is mirrored and what mirrored workloads need follows them.
	follows bool
}

// Of builds the scope of a replication's resources.
func Of(sel v1alpha1.ResourceSelection) *Scope {
	s := &Scope{kinds: Kinds(sel), includeHelmReleases: sel.IncludeHelmReleases,
		follows: sel.Selector != nil && sel.Dependencies != v1alpha1.DependenciesIgnore}
	s.selector, s.selectorErr = ObjectSelector(sel)
	s.chosen = labels.Everything()
	if sel.Selector != nil && s.selectorErr == nil {
		s.chosen, _ = metav1.LabelSelectorAsSelector(sel.Selector)
	}
	return s
}

// FollowsDependencies says what the mirrored workloads need is mirrored with them past
// resources.selector (resources.dependencies Follow, with a selector set).
func (s *Scope) FollowsDependencies() bool { return s.follows }

// Kinds returns the kinds mirrored, in the spec's order.
func (s *Scope) Kinds() []schema.GroupKind { return s.kinds }

// Selector selects the labeled source objects resources.selector covers; an invalid selector is
// an error for the pass (the webhook rejects one at admission).
func (s *Scope) Selector() (labels.Selector, error) { return s.selector, s.selectorErr }

// SkipReason says why an object is not mirrored, or "" when it is: its kind is not in scope or
// never mirrored, it opted out, a controller owns it, or it is a Secret that is never copied.
// secretType is the Secret's type ("" for other kinds, or when only metadata is known).
func (s *Scope) SkipReason(gk schema.GroupKind, obj metav1.Object, secretType string) string {
	if !slices.Contains(s.kinds, gk) {
		return fmt.Sprintf("kind %s is not in resources", gk)
	}
	return SkipReason(gk, obj, secretType, s.includeHelmReleases)
}

// Selects reports whether an object matches resources.selector, whether it carries the
// replication label or not (one that lost it is labeled again).
func (s *Scope) Selects(obj metav1.Object) bool {
	return s.selectorErr == nil && s.chosen.Matches(labels.Set(obj.GetLabels()))
}

// Coverer is a replication that covers a source namespace, with its scope.
type Coverer struct {
	Name  string
	Scope *Scope
}

// Coverers returns the replications that cover a namespace, in the order that names its label:
// the ClusterReplication its opt-in annotation names (with the default scope until it exists),
// the namespace's own Replications by name, then the ClusterReplications whose selector matches.
func Coverers(ns *corev1.Namespace, tenants []v1alpha1.Replication, crs []v1alpha1.ClusterReplication) []Coverer {
	if IsSystemNamespace(ns.Name) {
		return nil
	}
	var out []Coverer
	annotated := ns.Annotations[keys.AnnotationReplicate]
	if annotated != "" {
		i := slices.IndexFunc(crs, func(cr v1alpha1.ClusterReplication) bool { return cr.Name == annotated })
		sel := v1alpha1.ResourceSelection{}
		if i >= 0 {
			sel = crs[i].Spec.Resources
		}
		out = append(out, Coverer{Name: annotated, Scope: Of(sel)})
	}
	own := slices.SortedFunc(slices.Values(tenants), func(a, b v1alpha1.Replication) int { return strings.Compare(a.Name, b.Name) })
	for _, r := range own {
		if r.Namespace == ns.Name && r.DeletionTimestamp == nil {
			out = append(out, Coverer{Name: r.Name, Scope: Of(r.Spec.Resources)})
		}
	}
	bySelector := slices.SortedFunc(slices.Values(crs), func(a, b v1alpha1.ClusterReplication) int { return strings.Compare(a.Name, b.Name) })
	for _, cr := range bySelector {
		if cr.Name != annotated && cr.DeletionTimestamp == nil && ClusterReplicationCovers(cr.Name, cr.Spec.NamespaceSelector, ns) {
			out = append(out, Coverer{Name: cr.Name, Scope: Of(cr.Spec.Resources)})
		}
	}
	return out
}

// NamespaceLabel is the replication label a source namespace should carry: the first coverer's
// name, or "" for none. The labeling webhook is called only in namespaces that carry it.
func NamespaceLabel(coverers []Coverer) string {
	for _, c := range coverers {
		if len(InvalidReplicationName(c.Name)) == 0 {
			return c.Name
		}
	}
	return ""
}

// ResourceLabel is the replication label an object in a namespace with these coverers should
// carry: the first coverer that mirrors it, or "" when none does.
func ResourceLabel(coverers []Coverer, gk schema.GroupKind, obj metav1.Object, secretType string) string {
	for _, c := range coverers {
		if len(InvalidReplicationName(c.Name)) == 0 && c.Scope.SkipReason(gk, obj, secretType) == "" {
			return c.Name
		}
	}
	return ""
}
