package plugin

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/test/harness"
)

// optIn creates namespace name opted in to a new ClusterReplication name (DR namespace "<name>-dr")
// holding ConfigMap "settings" with color blue.
func optIn(ctx context.Context, name string, mut func(*v1alpha1.ClusterReplication)) {
	GinkgoHelper()
	Expect(env.SourceClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
		Annotations: map[string]string{keys.AnnotationReplicate: name}}})).To(Succeed())
	cr := &v1alpha1.ClusterReplication{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.ClusterReplicationSpec{
		ReplicationSpec: v1alpha1.ReplicationSpec{Targets: []v1alpha1.Target{{Cluster: harness.RemoteClusterName, Namespace: "{{.Namespace}}-dr"}}}}}
	if mut != nil {
		mut(cr)
	}
	Expect(env.SourceClient.Create(ctx, cr)).To(Succeed())
	Eventually(func() error {
		return env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "settings"}, Data: map[string]string{"color": "blue"}})
	}).WithTimeout(wait).Should(Succeed())
}

func drConfigMap(ctx context.Context, ns string) *corev1.ConfigMap {
	var cm corev1.ConfigMap
	if err := env.DRClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "settings"}, &cm); err != nil {
		return nil
	}
	return &cm
}

var _ = Describe("diff", func() {
	It("shows a drifted field as a unified diff and writes nothing", func(ctx context.Context) {
		optIn(ctx, "ledger", func(cr *v1alpha1.ClusterReplication) { cr.Spec.Drift.Policy = v1alpha1.DriftReport })
		Eventually(func() *corev1.ConfigMap { return drConfigMap(ctx, "ledger-dr") }).WithTimeout(wait).WithPolling(tick).ShouldNot(BeNil())
		r := drsyncer(ctx, "diff", "ledger", "--target", "dr")
		Expect(r.code).To(BeZero(), "nothing differs yet: "+r.out)
		Expect(r.out).To(ContainSubstring("0 differ, 0 absent"))

		By("someone edits the copy on DR (drift policy Report leaves it)")
		cm := drConfigMap(ctx, "ledger-dr")
		cm.Data["color"] = "red"
		Expect(env.DRClient.Update(ctx, cm)).To(Succeed())
		before := allVersions(ctx, "ledger-dr")

		r = drsyncer(ctx, "diff", "ledger", "--target", "dr")
		Expect(r.code).To(Equal(1), "differences exit 1, like kubectl diff")
		Expect(r.out).To(ContainSubstring("--- live ConfigMap ledger-dr/settings"))
		Expect(r.out).To(ContainSubstring("+++ desired ConfigMap ledger-dr/settings"))
		Expect(r.out).To(MatchRegexp(`(?m)^-\s+color: red$`))
		Expect(r.out).To(MatchRegexp(`(?m)^\+\s+color: blue$`))
		Expect(r.out).To(ContainSubstring("1 differ"))
		Expect(allVersions(ctx, "ledger-dr")).To(Equal(before), "diff writes nothing")
		Expect(drConfigMap(ctx, "ledger-dr").Data["color"]).To(Equal("red"))
	})
})

var _ = Describe("sync", func() {
	It("requests a Manual pass, waits for it and reports it", func(ctx context.Context) {
		optIn(ctx, "nightly", func(cr *v1alpha1.ClusterReplication) { cr.Spec.Mode = v1alpha1.ModeManual })
		Consistently(func() *corev1.ConfigMap { return drConfigMap(ctx, "nightly-dr") }).WithTimeout(2e9).Should(BeNil(), "Manual: no pass before a request")

		r := drsyncer(ctx, "sync", "nightly")
		Expect(r.code).To(BeZero(), r.err)
		Expect(r.out).To(ContainSubstring("pass of nightly handled"))
		Expect(r.out).To(MatchRegexp(`dr: [1-9]\d* synced, 0 drifted, 0 failed`))
		Expect(drConfigMap(ctx, "nightly-dr")).NotTo(BeNil(), "the pass ran before sync returned")

		By("status shows the replication with its recovery point")
		r = drsyncer(ctx, "status", "nightly")
		Expect(r.code).To(BeZero(), r.err)
		lines := strings.Split(strings.TrimSpace(r.out), "\n")
		Expect(lines).To(HaveLen(2))
		Expect(strings.Fields(lines[0])).To(Equal([]string{"REPLICATION", "TARGET", "MODE", "READY", "SYNCED", "DRIFTED", "FAILED", "CONFLICTS", "PROMOTED", "FAILOVER-READY", "LAST-SYNC", "RECOVERY-POINT"}))
		row := strings.Fields(lines[1])
		Expect(row[:10]).To(Equal([]string{"nightly", "dr", "Manual", "True", "1", "0", "0", "0", "0", "Yes"}))
		Expect(strings.Join(row[10:], " ")).To(MatchRegexp(`^\d+s ago \d+s$`), "a Manual replication is as old as its last pass")
	})

	It("exits non-zero when the pass fails", func(ctx context.Context) {
		optIn(ctx, "lost", func(cr *v1alpha1.ClusterReplication) {
			cr.Spec.Mode = v1alpha1.ModeManual
			cr.Spec.Targets[0].Cluster = "nowhere"
		})
		r := drsyncer(ctx, "sync", "lost")
		Expect(r.code).To(Equal(1))
		Expect(r.err).To(ContainSubstring(`the pass of lost failed`))
		Expect(r.err).To(ContainSubstring(`RemoteCluster "nowhere" does not exist`))
	})

	It("refuses to wait for a suspended replication", func(ctx context.Context) {
		optIn(ctx, "paused", func(cr *v1alpha1.ClusterReplication) { cr.Spec.Suspend = true })
		r := drsyncer(ctx, "sync", "paused")
		Expect(r.code).To(Equal(1))
		Expect(r.err).To(ContainSubstring("is suspended"))
	})
})

var _ = Describe("status", func() {
	It("shows a healthy Continuous target as current, through kubectl's plugin discovery", func(ctx context.Context) {
		optIn(ctx, "shop", nil)
		Eventually(func() *corev1.ConfigMap { return drConfigMap(ctx, "shop-dr") }).WithTimeout(wait).WithPolling(tick).ShouldNot(BeNil())
		pathDir := filepath.Dir(harness.PluginBinary())
		Eventually(func(g Gomega) {
			kubectl := exec.CommandContext(ctx, filepath.Join(harness.RepoRoot(), "bin", "k8s", "kubectl"), "drsyncer", "status", "shop", "--kubeconfig", kubeconfig)
			kubectl.Env = append(os.Environ(), "PATH="+pathDir+string(os.PathListSeparator)+os.Getenv("PATH"))
			out, err := kubectl.CombinedOutput()
			g.Expect(err).NotTo(HaveOccurred(), string(out))
			g.Expect(string(out)).To(MatchRegexp(`(?m)^shop\s+dr\s+Continuous\s+True\s+1\s+0\s+0\s+0\s+0\s+Yes\s+\d+s ago\s+current$`))
		}).WithTimeout(wait).WithPolling(500e6).Should(Succeed())
	})

	It("says which replication does not exist, and how to name a namespaced one", func(ctx context.Context) {
		r := drsyncer(ctx, "status", "missing")
		Expect(r.code).To(Equal(1))
		Expect(r.err).To(ContainSubstring(`ClusterReplication "missing": not found on the source cluster (for a namespaced Replication, pass -n NAMESPACE)`))
		Expect(regexp.MustCompile(`panic|goroutine`).MatchString(r.err)).To(BeFalse())
	})
})

var _ = Describe("a namespaced Replication", func() {
	It("is named with -n, and only its own namespace's copies are planned", func(ctx context.Context) {
		Expect(env.SourceClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team", Labels: map[string]string{"dr-tenant": "true"}}})).To(Succeed())
		r := &v1alpha1.Replication{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "mine"},
			Spec: v1alpha1.ReplicationSpec{Targets: []v1alpha1.Target{{Cluster: harness.RemoteClusterName}}}}
		Expect(env.SourceClient.Create(ctx, r)).To(Succeed())
		n := int32(2)
		Eventually(func() error {
			return env.SourceClient.Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "api"}, Spec: appsv1.DeploymentSpec{
				Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}, Template: podTemplate("api")}})
		}).WithTimeout(wait).Should(Succeed())
		Eventually(func() error {
			return env.DRClient.Get(ctx, client.ObjectKey{Namespace: "team", Name: "api"}, &appsv1.Deployment{})
		}).WithTimeout(wait).WithPolling(tick).Should(Succeed())

		r2 := drsyncer(ctx, "promote", "mine", "-n", "team", "--target", "dr", "--dry-run")
		Expect(r2.code).To(BeZero(), r2.err)
		Expect(r2.out).To(ContainSubstring("replication: would be fenced: Replication team/mine suspended"))
		Expect(r2.out).To(ContainSubstring("DR Deployment team/api: replicas 0 → 2"))
		Expect(r2.out).To(ContainSubstring("1 DR copy to change, 0 already done"))
	})
})

var _ = Describe("approve-deletes", func() {
	It("lets the next pass delete what the mass-delete breaker holds back", func(ctx context.Context) {
		optIn(ctx, "purge", func(cr *v1alpha1.ClusterReplication) { cr.Spec.DeletionPolicy = v1alpha1.DeletionDelete })
		for i := range 24 {
			Eventually(func() error {
				return env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "purge", Name: "cm-" + strconv.Itoa(i)}})
			}).WithTimeout(wait).Should(Succeed())
		}
		countDR := func() int {
			var l corev1.ConfigMapList
			_ = env.DRClient.List(ctx, &l, client.InNamespace("purge-dr"))
			return len(l.Items)
		}
		Eventually(countDR).WithTimeout(wait).Should(Equal(25))

		By("deleting every source object trips the breaker")
		Expect(env.SourceClient.DeleteAllOf(ctx, &corev1.ConfigMap{}, client.InNamespace("purge"))).To(Succeed())
		Eventually(func() string {
			var cr v1alpha1.ClusterReplication
			_ = env.SourceClient.Get(ctx, client.ObjectKey{Name: "purge"}, &cr)
			if c := meta.FindStatusCondition(cr.Status.Conditions, v1alpha1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
				return c.Message
			}
			return ""
		}).WithTimeout(wait).Should(ContainSubstring("kubectl drsyncer approve-deletes purge"))
		Expect(countDR()).To(BeNumerically(">", 0))

		r := drsyncer(ctx, "approve-deletes", "purge")
		Expect(r.code).To(BeZero(), r.err)
		Expect(r.out).To(ContainSubstring("approved deletes of purge handled"))
		Expect(r.out).To(MatchRegexp(`dr: 0 synced, 0 drifted, 0 failed`))
		Expect(countDR()).To(BeZero(), "every copy whose source is gone was deleted by the approved pass")
	})

	It("refuses a replication that deletes nothing", func(ctx context.Context) {
		optIn(ctx, "keeper", nil)
		r := drsyncer(ctx, "approve-deletes", "keeper")
		Expect(r.code).To(Equal(1))
		Expect(r.err).To(ContainSubstring("deletionPolicy Retain"))
	})
})
