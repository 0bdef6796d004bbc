package integration

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/metrics"
	"github.com/drsyncer/dr-syncer/test/harness"
)

// remoteThroughProxy registers a RemoteCluster that reaches the DR plane through a proxy the test
// can cut, probed every 5 s.
func remoteThroughProxy(ctx context.Context, name string) *harness.Proxy {
	GinkgoHelper()
	kc, err := harness.IdentityKubeconfig(ctx, env.DRConfig)
	Expect(err).NotTo(HaveOccurred())
	cfg, err := clientcmd.Load(kc)
	Expect(err).NotTo(HaveOccurred())
	cluster := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
	server, err := url.Parse(cluster.Server)
	Expect(err).NotTo(HaveOccurred())
	proxy, err := harness.NewProxy(server.Host)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(proxy.Stop)
	server.Host = proxy.Addr
	cluster.Server = server.String()
	kc, err = clientcmd.Write(*cfg)
	Expect(err).NotTo(HaveOccurred())
	registerRemote(ctx, name, kubeconfigData(kc), v1alpha1.RemoteClusterSpec{HealthCheckInterval: &metav1.Duration{Duration: 5 * time.Second}})
	return proxy
}

func remoteReady(ctx context.Context, name string) metav1.ConditionStatus {
	if c := readyCondition(ctx, name); c != nil {
		return c.Status
	}
	return ""
}

var _ = Describe("Faults", func() {
	It("converges against a DR API server that throttles (429), with a bounded request rate", func(ctx context.Context) {
		// A DR plane of its own whose API server admits one write and three requests at a time and
		// answers the rest with 429 Too Many Requests (no priority and fairness queuing).
		plane, cfg, err := harness.StartPlane(map[string]string{
			"enable-priority-and-fairness": "false", "max-requests-inflight": "3", "max-mutating-requests-inflight": "1"})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(plane.Stop)
		// Not system:masters, whom the in-flight limit never throttles: cluster-admin by a binding.
		drc, err := client.New(cfg, client.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(drc.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "dr-syncer"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "dr-syncer"}}})).To(Succeed())
		user, err := plane.AddUser(envtest.User{Name: "dr-syncer"}, nil)
		Expect(err).NotTo(HaveOccurred())
		kc, err := user.KubeConfig()
		Expect(err).NotTo(HaveOccurred())
		name := uniqueName("throttled")
		registerRemote(ctx, name, kubeconfigData(kc), v1alpha1.RemoteClusterSpec{})
		Eventually(func() metav1.ConditionStatus { return remoteReady(ctx, name) }).WithTimeout(wait).Should(Equal(metav1.ConditionTrue))

		const objects = 200
		ns, cr, _ := optIn(ctx, func(cr *v1alpha1.ClusterReplication) {
			cr.Spec.Targets = []v1alpha1.Target{{Cluster: name}}
		})
		start := time.Now()
		for i := range objects {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: fmt.Sprintf("cm-%03d", i)}, Data: map[string]string{"i": strconv.Itoa(i)}}
			Eventually(func() error { return env.SourceClient.Create(ctx, cm) }).WithTimeout(wait).Should(Succeed())
		}
		Eventually(func() int {
			var list corev1.ConfigMapList
			if err := drc.List(ctx, &list, client.InNamespace(ns.Name)); err != nil {
				return -1
			}
			return len(list.Items)
		}).WithTimeout(3 * time.Minute).WithPolling(time.Second).Should(Equal(objects))
		took := time.Since(start)

		throttled, err := harness.RequestsServed(ctx, cfg, `code="429"`)
		Expect(err).NotTo(HaveOccurred())
		total, err := harness.RequestsServed(ctx, cfg)
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("throttled DR", fmt.Sprintf("%d objects in %s; DR API server answered %.0f requests, %.0f of them 429", objects, took.Round(time.Millisecond), total, throttled))
		Expect(throttled).To(BeNumerically(">", 0), "the DR API server never throttled: the test tests nothing")
		Expect(total).To(BeNumerically("<", 10*objects), "retries must back off, not hammer the server")

		By("once converged, the request rate drops to the health probes")
		before, err := harness.RequestsServed(ctx, cfg)
		Expect(err).NotTo(HaveOccurred())
		time.Sleep(5 * time.Second)
		after, err := harness.RequestsServed(ctx, cfg)
		Expect(err).NotTo(HaveOccurred())
		Expect(after-before).To(BeNumerically("<", 25), "no hot loop against a throttling server")
		Eventually(func(g Gomega) {
			st := crStatus(ctx, cr.Name)
			g.Expect(st.Targets).To(HaveLen(1))
			g.Expect(st.Targets[0].Synced).To(Equal(int32(objects)))
			g.Expect(st.Targets[0].Failed).To(BeZero())
		}).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())
	})

	It("converges after the DR cluster was unreachable during 200 creates, updates and deletes", func(ctx context.Context) {
		name := uniqueName("flaky")
		proxy := remoteThroughProxy(ctx, name)
		Eventually(func() metav1.ConditionStatus { return remoteReady(ctx, name) }).WithTimeout(wait).Should(Equal(metav1.ConditionTrue))

		ns, cr, _ := optIn(ctx, func(cr *v1alpha1.ClusterReplication) {
			cr.Spec.Targets = []v1alpha1.Target{{Cluster: name, Namespace: "{{.Namespace}}-far"}}
		})
		drNS := ns.Name + "-far"
		cm := func(i int, v string) *corev1.ConfigMap {
			return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "cm-" + strconv.Itoa(i)}, Data: map[string]string{"v": v}}
		}
		for i := range 100 {
			Expect(env.SourceClient.Create(ctx, cm(i, "before"))).To(Succeed())
		}
		countOnDR := func() int {
			var l corev1.ConfigMapList
			_ = env.DRClient.List(ctx, &l, client.InNamespace(drNS))
			return len(l.Items)
		}
		Eventually(countOnDR).WithTimeout(wait).Should(Equal(100))

		By("cutting the DR cluster off")
		proxy.Stop()
		for i := range 40 { // 40 deletes, 80 updates, 80 creates: 200 changes
			Expect(env.SourceClient.Delete(ctx, cm(i, ""))).To(Succeed())
		}
		for i := 40; i < 100; i++ {
			Expect(env.SourceClient.Update(ctx, cm(i, "during"))).To(Succeed())
		}
		for i := 40; i < 60; i++ {
			Expect(env.SourceClient.Update(ctx, cm(i, "during-again"))).To(Succeed())
		}
		for i := 100; i < 180; i++ {
			Expect(env.SourceClient.Create(ctx, cm(i, "new"))).To(Succeed())
		}
		Eventually(func() metav1.ConditionStatus { return remoteReady(ctx, name) }).WithTimeout(wait).Should(Equal(metav1.ConditionFalse))
		Expect(testutil.ToFloat64(metrics.RemoteClusterUp.WithLabelValues(name))).To(Equal(0.0))
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(crStatus(ctx, cr.Name).Conditions, v1alpha1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(v1alpha1.ReasonTargetUnavailable))
			g.Expect(c.Message).To(ContainSubstring(name))
		}).WithTimeout(wait).Should(Succeed())

		By("the DR cluster is back on the same address: everything converges")
		Expect(proxy.Start()).To(Succeed())
		Eventually(func(g Gomega) {
			var l corev1.ConfigMapList
			g.Expect(env.DRClient.List(ctx, &l, client.InNamespace(drNS))).To(Succeed())
			got := map[string]string{}
			for _, c := range l.Items {
				got[c.Name] = c.Data["v"]
			}
			want := map[string]string{}
			for i := 40; i < 180; i++ {
				want["cm-"+strconv.Itoa(i)] = map[bool]string{true: "during-again", false: "during"}[i < 60]
				if i >= 100 {
					want["cm-"+strconv.Itoa(i)] = "new"
				}
			}
			g.Expect(got).To(Equal(want), fmt.Sprintf("%d copies on DR", len(got)))
		}).WithTimeout(60 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
		Eventually(func() bool {
			return meta.IsStatusConditionTrue(crStatus(ctx, cr.Name).Conditions, v1alpha1.ConditionReady)
		}).WithTimeout(wait).Should(BeTrue())
		Expect(testutil.ToFloat64(metrics.RemoteClusterUp.WithLabelValues(name))).To(Equal(1.0))
	})
})
