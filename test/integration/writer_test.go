package integration

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/manager"
	"github.com/drsyncer/dr-syncer/pkg/clusters"
)

// answers records every request's Content-Type and the body of every answer.
type answers struct {
	mu       sync.Mutex
	requests []string
	bodies   []string
	next     http.RoundTripper
}

func (a *answers) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = append(a.requests, req.Method+" "+req.Header.Get("Content-Type"))
	a.bodies = append(a.bodies, string(body))
	return resp, err
}

var _ = Describe("Writing to a DR cluster", func() {
	It("creates and applies with metadata-only answers, typed kinds as protobuf, and reports conflicts", func(ctx context.Context) {
		ns := uniqueName("writer")
		Expect(env.DRClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		cfg := rest.CopyConfig(env.DRConfig)
		seen := &answers{}
		cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { seen.next = rt; return seen }
		httpClient, err := rest.HTTPClientFor(cfg)
		Expect(err).NotTo(HaveOccurred())
		w, err := clusters.NewWriter(cfg, httpClient, env.DRClient.RESTMapper())
		Expect(err).NotTo(HaveOccurred())

		By("a typed create answers with the new resourceVersion")
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "typed"}, Data: map[string]string{"a": "content-canary"}}
		version, err := w.Create(ctx, cm, "dr-syncer")
		Expect(err).NotTo(HaveOccurred())
		var got corev1.ConfigMap
		Expect(env.DRClient.Get(ctx, client.ObjectKeyFromObject(cm), &got)).To(Succeed())
		Expect(version).To(Equal(got.ResourceVersion))
		Expect(got.Data).To(Equal(map[string]string{"a": "content-canary"}))
		Expect(got.ManagedFields).To(ContainElement(HaveField("Manager", "dr-syncer")))

		By("creating it again is AlreadyExists, as from any client")
		_, err = w.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "typed"}}, "dr-syncer")
		Expect(apierrors.IsAlreadyExists(err)).To(BeTrue(), "%v", err)

		By("an unstructured object travels as JSON; an apply updates it")
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"namespace": ns, "name": "plain"}, "data": map[string]any{"b": "content-canary"}}}
		_, err = w.Create(ctx, u, "dr-syncer")
		Expect(err).NotTo(HaveOccurred())
		_ = unstructured.SetNestedField(u.Object, "content-canary-2", "data", "b")
		version, err = w.Apply(ctx, u, "dr-syncer")
		Expect(err).NotTo(HaveOccurred())
		Expect(env.DRClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "plain"}, &got)).To(Succeed())
		Expect(version).To(Equal(got.ResourceVersion))
		Expect(got.Data).To(Equal(map[string]string{"b": "content-canary-2"}))

		seen.mu.Lock()
		defer seen.mu.Unlock()
		Expect(seen.requests).To(Equal([]string{"POST application/vnd.kubernetes.protobuf", "POST application/vnd.kubernetes.protobuf",
			"POST application/json", "PATCH application/apply-patch+yaml"}))
		for _, body := range seen.bodies {
			Expect(body).NotTo(ContainSubstring("content-canary"), "an answer carries only metadata")
		}
	})

	It("spends one request budget per cluster, whatever the kind or client", func(ctx context.Context) {
		ns := uniqueName("budget")
		Expect(env.DRClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		cfg := rest.CopyConfig(env.DRConfig)
		cfg.QPS, cfg.Burst = 4, 1
		reg := clusters.NewRegistry(manager.Scheme(), func(string, client.Object) {})
		defer reg.Stop()
		cl, err := reg.Connect(ctx, "budget", cfg, "budget")
		Expect(err).NotTo(HaveOccurred())
		// Warm the REST mapper so that only the requests below count.
		Expect(cl.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "none"}, &corev1.Secret{})).NotTo(Succeed())
		Expect(cl.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "none"}, &corev1.Service{})).NotTo(Succeed())
		start := time.Now()
		for i := range 4 {
			_, err := cl.Writer.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: uniqueName("cm") + string(rune('a'+i))}}, "dr-syncer")
			Expect(err).NotTo(HaveOccurred())
			Expect(cl.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "none"}, &corev1.Secret{})).NotTo(Succeed())
			Expect(cl.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "none"}, &corev1.Service{})).NotTo(Succeed())
		}
		// 12 requests at 4 per second from one bucket take at least 11 / 4 s; three buckets (the
		// writer's and one per kind) would let them through in about 0.75 s.
		Expect(time.Since(start)).To(BeNumerically(">=", 2500*time.Millisecond))
	})
})
