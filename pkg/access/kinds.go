package access

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// accessTTL is how long an answer about reading a kind holds: an admin's new binding or CRD
// version is seen within it.
const accessTTL = time.Minute

// Kinds says whether dr-syncer can list and watch a kind on a cluster (the source, or a DR
// cluster) before a pass starts an informer for it there: an informer that can never sync (a kind
// without list, or one dr-syncer may not read) would otherwise hold the pass, and with it a worker
// that every tenant shares, or fail a whole target.
type Kinds struct {
	client    client.Client
	discovery discovery.DiscoveryInterface
	now       func() time.Time
	// where names the cluster in messages ("the source", "cluster dr"); grant says how to grant gr.
	where string
	grant func(gr string) string

	mu      sync.Mutex
	answers map[string]accessAnswer
}

type accessAnswer struct {
	refusal string
	at      time.Time
}

// Refusal says why the kind of m cannot be listed and watched on the cluster, "" when it can.
func (a *Kinds) Refusal(ctx context.Context, m *meta.RESTMapping) string {
	key := m.Resource.String()
	a.mu.Lock()
	ans, ok := a.answers[key]
	a.mu.Unlock()
	if ok && a.now().Sub(ans.at) < accessTTL {
		return ans.refusal
	}
	why := a.check(ctx, m)
	a.mu.Lock()
	a.answers[key] = accessAnswer{refusal: why, at: a.now()}
	a.mu.Unlock()
	return why
}

func (a *Kinds) check(ctx context.Context, m *meta.RESTMapping) string {
	gr := m.Resource.GroupResource()
	if a.discovery != nil {
		if list, err := a.discovery.ServerResourcesForGroupVersion(m.Resource.GroupVersion().String()); err == nil {
			for _, r := range list.APIResources {
				if r.Name == m.Resource.Resource && (!slices.Contains(r.Verbs, "list") || !slices.Contains(r.Verbs, "watch")) {
					return fmt.Sprintf("%s cannot be listed and watched on %s (its API serves only %v): it cannot be mirrored", gr, a.where, r.Verbs)
				}
			}
		}
	}
	for _, verb := range []string{"list", "watch"} {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Group: m.Resource.Group, Resource: m.Resource.Resource}}}
		if err := a.client.Create(ctx, review); err != nil {
			return "" // cannot tell: the informer's bounded wait still protects the pass
		}
		if !review.Status.Allowed {
			return fmt.Sprintf("dr-syncer may not %s %s on %s: %s", verb, gr, a.where, a.grant(gr.String()))
		}
	}
	return ""
}

// SourceKinds checks what dr-syncer may read on the source cluster.
func SourceKinds(c client.Client, d discovery.DiscoveryInterface, now func() time.Time) *Kinds {
	return &Kinds{client: c, discovery: d, now: now, answers: map[string]accessAnswer{}, where: "the source",
		grant: func(gr string) string {
			return fmt.Sprintf("bind its service account a ClusterRole with get, list and watch on %s (and patch, for the replication label)", gr)
		}}
}

// DRKinds checks what dr-syncer may read on DR cluster name.
func DRKinds(name string, c client.Client, d discovery.DiscoveryInterface, now func() time.Time) *Kinds {
	return &Kinds{client: c, discovery: d, now: now, answers: map[string]accessAnswer{}, where: "cluster " + name,
		grant: func(gr string) string {
			return fmt.Sprintf("grant its identity there get, list, watch, create, patch and delete on %s (kubectl drsyncer join %s --dr-context CTX --resource %s)", gr, name, gr)
		}}
}
