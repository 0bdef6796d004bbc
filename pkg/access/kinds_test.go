package access

import (
	"context"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	kubetesting "k8s.io/client-go/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

var widgets = &meta.RESTMapping{Resource: schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}}

// reviewer answers SelfSubjectAccessReviews from allowed (verb → allowed) and counts them.
func reviewer(allowed map[string]bool, reviews *int) client.Client {
	return fake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{
		Create: func(_ context.Context, _ client.WithWatch, obj client.Object, _ ...client.CreateOption) error {
			r := obj.(*authorizationv1.SelfSubjectAccessReview)
			*reviews++
			r.Status.Allowed = allowed[r.Spec.ResourceAttributes.Verb]
			return nil
		}}).Build()
}

func discoveryServing(verbs ...string) *fakediscovery.FakeDiscovery {
	return &fakediscovery.FakeDiscovery{Fake: &kubetesting.Fake{Resources: []*metav1.APIResourceList{{
		GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{{Name: "widgets", Kind: "Widget", Namespaced: true, Verbs: verbs}}}}}}
}

func TestKindsRefusal(t *testing.T) {
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	for _, tc := range []struct {
		name    string
		kinds   func(client.Client) *Kinds
		allowed map[string]bool
		verbs   []string
		want    string // in the refusal; "" for none
	}{
		{"allowed on the source", func(c client.Client) *Kinds { return SourceKinds(c, discoveryServing("get", "list", "watch"), clock) },
			map[string]bool{"list": true, "watch": true}, nil, ""},
		{"watch denied on the source", func(c client.Client) *Kinds { return SourceKinds(c, discoveryServing("get", "list", "watch"), clock) },
			map[string]bool{"list": true}, nil, "dr-syncer may not watch widgets.example.com on the source: bind its service account"},
		{"list denied on DR", func(c client.Client) *Kinds { return DRKinds("dr", c, nil, clock) },
			map[string]bool{}, nil, "may not list widgets.example.com on cluster dr: grant its identity there get, list, watch, create, patch and delete on widgets.example.com (kubectl drsyncer join dr"},
		{"served without list", func(c client.Client) *Kinds { return SourceKinds(c, discoveryServing("get", "create"), clock) },
			map[string]bool{"list": true, "watch": true}, nil, "cannot be listed and watched on the source (its API serves only [get create])"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reviews := 0
			got := tc.kinds(reviewer(tc.allowed, &reviews)).Refusal(context.Background(), widgets)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("refusal %q, want %q", got, tc.want)
			}
		})
	}
}

// An answer holds for a minute: a pass per second does not review each kind every time, and a new
// binding is seen within the minute.
func TestKindsAnswersExpire(t *testing.T) {
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	reviews := 0
	allowed := map[string]bool{}
	k := DRKinds("dr", reviewer(allowed, &reviews), nil, func() time.Time { return now })
	first, second := k.Refusal(context.Background(), widgets), k.Refusal(context.Background(), widgets)
	if first == "" || second != first || reviews != 1 {
		t.Fatalf("%d reviews for two checks within the minute, want 1 (list denied stops the second verb)", reviews)
	}
	allowed["list"], allowed["watch"] = true, true
	now = now.Add(accessTTL)
	if why := k.Refusal(context.Background(), widgets); why != "" {
		t.Fatalf("a grant is not seen after the TTL: %s", why)
	}
}
