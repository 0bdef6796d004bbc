package remotecluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/access"
	"github.com/drsyncer/dr-syncer/pkg/clusters"
)

// authorizedTTL is how long an answer holds: a grant or revocation on DR shows within it, and a
// cluster is asked about every needed permission at most this often.
const authorizedTTL = 10 * time.Minute

// authorizations remembers, per RemoteCluster, what its identity was found to lack, on which
// connection and when.
type authorizations struct {
	mu      sync.Mutex
	answers map[string]authorization
}

type authorization struct {
	connection string
	missing    []access.Permission
	at         time.Time
}

func (a *authorizations) get(name string) (authorization, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ans, ok := a.answers[name]
	return ans, ok
}

func (a *authorizations) set(name string, ans authorization) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.answers == nil {
		a.answers = map[string]authorization{}
	}
	a.answers[name] = ans
}

func (a *authorizations) forget(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.answers, name)
}

// condition is the Authorized condition of a connected DR cluster: True, or False naming each
// verb and resource its identity may not use (cluster-wide), asked with SelfSubjectAccessReviews.
func (r *Reconciler) authorizedCondition(ctx context.Context, rc *v1alpha1.RemoteCluster, cl *clusters.Cluster) metav1.Condition {
	a, ok := r.authz.get(rc.Name)
	if !ok || a.connection != cl.ID || r.Now().Sub(a.at) >= authorizedTTL {
		// Bounded: a throttled cluster must not hold its RemoteCluster's health check.
		askCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		missing, err := missingPermissions(askCtx, cl)
		cancel()
		if err != nil {
			return metav1.Condition{Type: v1alpha1.ConditionAuthorized, Status: metav1.ConditionUnknown, Reason: v1alpha1.ReasonUnreachable,
				Message: "cannot ask " + cl.Name + " what dr-syncer may do: " + clusters.BriefError(err)}
		}
		a = authorization{connection: cl.ID, missing: missing, at: r.Now()}
		r.authz.set(rc.Name, a)
	}
	if len(a.missing) == 0 {
		return metav1.Condition{Type: v1alpha1.ConditionAuthorized, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonAuthorized,
			Message: "dr-syncer may do what mirroring the default kinds needs"}
	}
	names := make([]string, 0, 5)
	for _, p := range a.missing[:min(5, len(a.missing))] {
		names = append(names, p.String())
	}
	more := ""
	if len(a.missing) > 5 {
		more = fmt.Sprintf(" and %d more", len(a.missing)-5)
	}
	return metav1.Condition{Type: v1alpha1.ConditionAuthorized, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonMissingPermissions,
		Message: fmt.Sprintf("dr-syncer may not %s%s in any namespace of cluster %s: copies of those kinds fail; grant them (kubectl drsyncer join %s --dr-context CTX)",
			strings.Join(names, ", "), more, rc.Name, rc.Name)}
}

func missingPermissions(ctx context.Context, cl *clusters.Cluster) ([]access.Permission, error) {
	var missing []access.Permission
	for _, p := range access.Needed() {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: p.Verb, Group: p.Group, Resource: p.Resource}}}
		if err := cl.Client.Create(ctx, review); err != nil {
			return nil, err
		}
		if !review.Status.Allowed {
			missing = append(missing, p)
		}
	}
	return missing, nil
}
