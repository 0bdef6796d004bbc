package integration

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/metrics"
	"github.com/drsyncer/dr-syncer/test/harness"
)

var _ = Describe("Bad input", func() {
	It("mirrors a 1 MiB ConfigMap", func(ctx context.Context) {
		ns, _, drNS := optIn(ctx, nil)
		big := strings.Repeat("x", 1<<20-1024)
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "big"}, Data: map[string]string{"blob": big}})).To(Succeed())
		var drCM corev1.ConfigMap
		eventuallyOnDR(ctx, drNS, "big", &drCM)
		Expect(drCM.Data["blob"]).To(HaveLen(len(big)))
	})

	It("fails only the object an override breaks at apply time, and keeps syncing the rest", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) {
			cr.Spec.Targets[0].Transforms = &v1alpha1.Transforms{Patches: []v1alpha1.JSONPatch{{
				Kind: "Deployment", Op: "replace", Path: "/spec/replicas", Value: &apiextensionsv1.JSON{Raw: []byte(`"lots"`)},
			}}}
			cr.Spec.Workloads.Replicas = ptrIntOrString(intstr.FromString(v1alpha1.ReplicasPreserve))
		})
		Expect(env.SourceClient.Create(ctx, deployment(ns.Name, "web", 2))).To(Succeed())
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "fine"}})).To(Succeed())
		eventuallyOnDR(ctx, drNS, "fine", &corev1.ConfigMap{})
		Eventually(func(g Gomega) {
			st := crStatus(ctx, cr.Name)
			g.Expect(st.Targets).To(HaveLen(1))
			g.Expect(st.Targets[0].Failed).To(Equal(int32(1)))
			g.Expect(st.Targets[0].Problems).To(ContainElement(And(HaveField("Kind", "Deployment"), HaveField("Name", "web"), HaveField("Reason", "Failed"))))
			c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(v1alpha1.ReasonPartialFailure))
		}).WithTimeout(wait).Should(Succeed())
		Expect(drGet(ctx, drNS, "web", &appsv1.Deployment{})).NotTo(Succeed())
	})

	It("reports a namespace whose DR name renders too long, while other namespaces sync", func(ctx context.Context) {
		name := uniqueName("long")
		sel := map[string]string{"long-test": name}
		cr := clusterReplication(name, target(harness.RemoteClusterName, "{{.Namespace}}-disaster-recovery"))
		cr.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: sel}
		Expect(env.SourceClient.Create(ctx, cr)).To(Succeed())
		short := createNamespace(ctx, "ok", sel, nil)
		long := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a-namespace-name-long-enough-to-overflow-" + uniqueName("x"), Labels: sel}}
		Expect(env.SourceClient.Create(ctx, long)).To(Succeed())
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: short.Name, Name: "c"}})).To(Succeed())
		eventuallyOnDR(ctx, short.Name+"-disaster-recovery", "c", &corev1.ConfigMap{})
		Eventually(func(g Gomega) {
			st := crStatus(ctx, name)
			g.Expect(st.Targets).To(HaveLen(1))
			g.Expect(st.Targets[0].Problems).To(ContainElement(And(HaveField("Kind", "Namespace"), HaveField("Name", long.Name),
				HaveField("Message", ContainSubstring("not a valid namespace name")))))
		}).WithTimeout(wait).Should(Succeed())
	})

	It("reports a RemoteCluster deleted while a replication uses it", func(ctx context.Context) {
		gone := uniqueName("gone")
		kc, err := harness.IdentityKubeconfig(ctx, env.DRConfig)
		Expect(err).NotTo(HaveOccurred())
		registerRemote(ctx, gone, kubeconfigData(kc), v1alpha1.RemoteClusterSpec{})
		ns, cr, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) {
			cr.Spec.Targets = append(cr.Spec.Targets, target(gone, "{{.Namespace}}-gone"))
		})
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "c"}})).To(Succeed())
		eventuallyOnDR(ctx, ns.Name+"-gone", "c", &corev1.ConfigMap{})
		Expect(env.SourceClient.Delete(ctx, &v1alpha1.RemoteCluster{ObjectMeta: metav1.ObjectMeta{Name: gone}})).To(Succeed())
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "d"}})).To(Succeed())
		eventuallyOnDR(ctx, drNS, "d", &corev1.ConfigMap{})
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(crStatus(ctx, cr.Name).Conditions, v1alpha1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(v1alpha1.ReasonTargetUnavailable))
			g.Expect(c.Message).To(ContainSubstring(`RemoteCluster "` + gone + `" does not exist`))
		}).WithTimeout(wait).Should(Succeed())
	})

	It("ends with the DR copy equal to the source while someone keeps editing it", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, nil)
		src := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "contested"}, Data: map[string]string{"v": "0"}}
		Expect(env.SourceClient.Create(ctx, src)).To(Succeed())
		eventuallyOnDR(ctx, drNS, "contested", &corev1.ConfigMap{})
		drift := metrics.DriftDetected.WithLabelValues(cr.Name, harness.RemoteClusterName, "ConfigMap")
		before := testutil.ToFloat64(drift)
		for i := range 10 {
			var dr corev1.ConfigMap
			if drGet(ctx, drNS, "contested", &dr) == nil {
				dr.Data["v"] = "edited-on-dr"
				_ = env.DRClient.Update(ctx, &dr) // may lose a race with the correction: that is the point
			}
			time.Sleep(150 * time.Millisecond) // long enough for the drift to be seen and corrected
			Expect(env.SourceClient.Get(ctx, client.ObjectKeyFromObject(src), src)).To(Succeed())
			src.Data["v"] = "source-" + string(rune('a'+i))
			Expect(env.SourceClient.Update(ctx, src)).To(Succeed())
			time.Sleep(50 * time.Millisecond)
		}
		Eventually(func() string {
			var dr corev1.ConfigMap
			_ = drGet(ctx, drNS, "contested", &dr)
			return dr.Data["v"]
		}).WithTimeout(wait).WithPolling(tick).Should(Equal("source-j"))
		Expect(testutil.ToFloat64(drift)).To(BeNumerically(">", before), "DR edits are counted as drift")
	})
})

var _ = Describe("Scheduled means scheduled", func() {
	It("runs no more passes than the schedule and the retries of a failed pass, however many changes arrive", func(ctx context.Context) {
		// The object that always fails on DR exists before the first pass, which runs at once.
		name := uniqueName("sched")
		ns := createNamespace(ctx, "app", nil, map[string]string{keys.AnnotationReplicate: name})
		drNS := ns.Name + "-dr"
		Expect(env.SourceClient.Create(ctx, deployment(ns.Name, "web", 2))).To(Succeed())
		cr := clusterReplication(name, target(harness.RemoteClusterName, "{{.Namespace}}-dr"))
		cr.Spec.Mode = v1alpha1.ModeScheduled
		cr.Spec.Schedule = "0 0 1 1 *" // once a year: never due during the test
		cr.Spec.Targets[0].Transforms = &v1alpha1.Transforms{Patches: []v1alpha1.JSONPatch{{
			Kind: "Deployment", Op: "replace", Path: "/spec/replicas", Value: &apiextensionsv1.JSON{Raw: []byte(`"lots"`)},
		}}}
		cr.Spec.Workloads.Replicas = ptrIntOrString(intstr.FromString(v1alpha1.ReplicasPreserve))
		Expect(env.SourceClient.Create(ctx, cr)).To(Succeed())
		Eventually(func() int32 { return firstTarget(crStatus(ctx, cr.Name)).Failed }).WithTimeout(wait).Should(Equal(int32(1)))
		passes := func() uint64 {
			var m dto.Metric
			Expect(metrics.PassDuration.WithLabelValues(cr.Name).(prometheus.Metric).Write(&m)).To(Succeed())
			return m.GetHistogram().GetSampleCount()
		}
		before := passes()
		By("ten source changes in three seconds")
		for i := range 10 {
			Expect(env.SourceClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: fmt.Sprintf("s-%d", i)}})).To(Succeed())
			time.Sleep(300 * time.Millisecond)
		}
		time.Sleep(time.Second)
		// The first retry comes 10 s after the failed pass; at most it may have begun.
		Expect(passes()-before).To(BeNumerically("<=", 1), "changes do not run passes of a Scheduled replication")
		Expect(apierrors.IsNotFound(drGet(ctx, drNS, "s-0", &corev1.Secret{}))).To(BeTrue(), "nothing was written before the schedule")
		Expect(crStatus(ctx, cr.Name).LastScheduledTime).NotTo(BeNil(), "the failed pass is recorded as the last scheduled one")
	})
})

// seriesOf counts the series of a metric that belong to a replication (and a target, when set).
func seriesOf(c prometheus.Collector, replication, target string) int {
	ch := make(chan prometheus.Metric, 4096)
	c.Collect(ch)
	close(ch)
	n := 0
	for m := range ch {
		var d dto.Metric
		Expect(m.Write(&d)).To(Succeed())
		labels := map[string]string{}
		for _, l := range d.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["replication"] == replication && (target == "" || labels["target"] == target) {
			n++
		}
	}
	return n
}

var _ = Describe("Metrics that tell the truth", func() {
	It("serves the drift counters at zero and the expected interval, and deletes the series of a removed target and a deleted replication", func(ctx context.Context) {
		second := uniqueName("dr2")
		kc, err := harness.IdentityKubeconfig(ctx, env.DRConfig)
		Expect(err).NotTo(HaveOccurred())
		registerRemote(ctx, second, kubeconfigData(kc), v1alpha1.RemoteClusterSpec{})
		ns, cr, _ := optIn(ctx, func(cr *v1alpha1.ClusterReplication) {
			cr.Spec.Targets = append(cr.Spec.Targets, target(second, "{{.Namespace}}-dr2"))
		})
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "m"}})).To(Succeed())
		eventuallyOnDR(ctx, ns.Name+"-dr2", "m", &corev1.ConfigMap{})
		Eventually(func() int { return seriesOf(metrics.LastSyncTimestamp, cr.Name, second) }).WithTimeout(wait).Should(Equal(1))
		Expect(testutil.ToFloat64(metrics.DriftDetected.WithLabelValues(cr.Name, second, "ConfigMap"))).To(BeZero(), "served at 0 before any drift")
		Expect(seriesOf(metrics.DriftDetected, cr.Name, second)).To(BeNumerically(">=", 15), "one series per kind of the default set")
		Expect(testutil.ToFloat64(metrics.ExpectedInterval.WithLabelValues(cr.Name))).To(Equal(300.0), "Continuous: the drift interval")

		By("removing the second target deletes its series")
		updateCR(ctx, cr, func(cr *v1alpha1.ClusterReplication) { cr.Spec.Targets = cr.Spec.Targets[:1] })
		Eventually(func() int {
			return seriesOf(metrics.LastSyncTimestamp, cr.Name, second) + seriesOf(metrics.DriftDetected, cr.Name, second) + seriesOf(metrics.Objects, cr.Name, second)
		}).WithTimeout(wait).Should(BeZero())
		Expect(seriesOf(metrics.LastSyncTimestamp, cr.Name, harness.RemoteClusterName)).To(Equal(1))

		By("Manual: no expected interval, so never stale")
		updateCR(ctx, cr, func(cr *v1alpha1.ClusterReplication) { cr.Spec.Mode = v1alpha1.ModeManual })
		Eventually(func() int { return seriesOf(metrics.ExpectedInterval, cr.Name, "") }).WithTimeout(wait).Should(BeZero())

		By("deleting the replication deletes every series it had")
		Expect(env.SourceClient.Delete(ctx, cr)).To(Succeed())
		Eventually(func() int {
			n := 0
			for _, c := range metrics.All {
				n += seriesOf(c, cr.Name, "")
			}
			return n
		}).WithTimeout(wait).Should(BeZero())
	})
})

var _ = Describe("A kind dr-syncer cannot read", func() {
	It("never stalls anything: four Replications that include one say why, and a fifth syncs within seconds", func(ctx context.Context) {
		// LocalSubjectAccessReviews are namespaced and can only be created: an informer for them
		// can never sync, as for a custom resource dr-syncer was not granted.
		var stuck []*v1alpha1.Replication
		for range 4 {
			ns := createNamespace(ctx, "unreadable", tenantLabels, nil)
			r := replication(ns.Name, "mine", target(harness.RemoteClusterName, ""))
			r.Spec.Resources.Include = []v1alpha1.GroupKind{{Kind: "ConfigMap"}, {Group: "authorization.k8s.io", Kind: "LocalSubjectAccessReview"}}
			Expect(env.SourceClient.Create(ctx, r)).To(Succeed())
			stuck = append(stuck, r)
		}
		ns := createNamespace(ctx, "normal", tenantLabels, nil)
		Expect(env.SourceClient.Create(ctx, replication(ns.Name, "mine", target(harness.RemoteClusterName, "")))).To(Succeed())
		Eventually(func() error {
			return env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "fine"}})
		}).WithTimeout(wait).Should(Succeed())
		Eventually(func() error { return drGet(ctx, ns.Name, "fine", &corev1.ConfigMap{}) }).WithTimeout(5 * time.Second).WithPolling(tick).Should(Succeed())
		for _, r := range stuck {
			Eventually(func() []v1alpha1.ObjectProblem { return replicationProblems(ctx, r) }).WithTimeout(wait).Should(ContainElement(And(HaveField("Kind", "LocalSubjectAccessReview"),
				HaveField("Message", ContainSubstring("localsubjectaccessreviews.authorization.k8s.io cannot be listed and watched")))))
		}
	})
})

var _ = Describe("Source informers", func() {
	It("are stopped when no replication includes their kind any more, and only then", func(ctx context.Context) {
		crd := harness.ExampleCRD("gadget", "Gadget")
		Expect(env.SourceClient.Create(ctx, crd.DeepCopy())).To(Succeed())
		Expect(env.DRClient.Create(ctx, crd.DeepCopy())).To(Succeed())
		include := []v1alpha1.GroupKind{{Kind: "ConfigMap"}, {Group: "example.com", Kind: "Gadget"}}
		var crs []*v1alpha1.ClusterReplication
		for range 2 {
			ns, cr, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) { cr.Spec.Resources.Include = include })
			gadget := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "example.com/v1", "kind": "Gadget",
				"metadata": map[string]any{"name": "g", "namespace": ns.Name, "labels": map[string]any{keys.LabelReplication: cr.Name}},
			}}
			Eventually(func() error { return env.SourceClient.Create(ctx, gadget) }).WithTimeout(wait).Should(Succeed())
			copied := &unstructured.Unstructured{}
			copied.SetGroupVersionKind(gadget.GroupVersionKind())
			eventuallyOnDR(ctx, drNS, "g", copied)
			crs = append(crs, cr)
		}
		gadgetWatches := func() float64 {
			n, err := harness.WatchesOpen(ctx, env.SourceConfig, "gadgets")
			Expect(err).NotTo(HaveOccurred())
			return n
		}
		Expect(gadgetWatches()).To(BeNumerically(">=", 1), "the source informer watches Gadgets")

		By("one replication no longer includes Gadgets: the other still needs the informer")
		Eventually(func() error {
			var cr v1alpha1.ClusterReplication
			if err := env.SourceClient.Get(ctx, client.ObjectKeyFromObject(crs[0]), &cr); err != nil {
				return err
			}
			cr.Spec.Resources.Include = include[:1]
			return env.SourceClient.Update(ctx, &cr)
		}).WithTimeout(wait).Should(Succeed())
		Eventually(func() int64 { return crStatus(ctx, crs[0].Name).ObservedGeneration }).WithTimeout(wait).Should(BeNumerically(">=", 2))
		Consistently(gadgetWatches).WithTimeout(2 * time.Second).Should(BeNumerically(">=", 1))

		By("the last replication that includes Gadgets goes: the watch ends")
		Expect(env.SourceClient.Delete(ctx, crs[1])).To(Succeed())
		Eventually(gadgetWatches).WithTimeout(wait).WithPolling(tick).Should(BeZero())
	})
})
