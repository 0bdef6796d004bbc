package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/test/harness"
)

// expectInvalid asserts an Invalid error that names the field path and a part of the message.
func expectInvalid(err error, path, message string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred())
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
	Expect(err.Error()).To(ContainSubstring(path))
	Expect(err.Error()).To(ContainSubstring(message))
}

var _ = Describe("Replication admission", Label("skew"), func() {
	It("accepts a valid tenant Replication and fills the defaults", func(ctx context.Context) {
		ns := createNamespace(ctx, "tenant", tenantLabels, nil)
		r := replication(ns.Name, "app", target(harness.RemoteClusterName, ""))
		Expect(env.SourceClient.Create(ctx, r)).To(Succeed())
		Expect(r.Spec.Mode).To(Equal(v1alpha1.ModeContinuous))
		Expect(r.Spec.DeletionPolicy).To(Equal(v1alpha1.DeletionRetain))
		Expect(r.Spec.ConflictPolicy).To(Equal(v1alpha1.ConflictSkip))
		Expect(r.Spec.Drift.Policy).To(Equal(v1alpha1.DriftCorrect))
		Expect(r.Spec.Drift.Interval.Duration.String()).To(Equal("5m0s"))
		Expect(*r.Spec.Workloads.Replicas).To(Equal(intstr.FromString("Zero")))
		Expect(*r.Spec.Workloads.SuspendCronJobs).To(BeTrue())
	})

	It("rejects Scheduled without a schedule in the CRD schema (CEL)", func(ctx context.Context) {
		ns := createNamespace(ctx, "tenant", tenantLabels, nil)
		r := replication(ns.Name, "app", target(harness.RemoteClusterName, ""))
		r.Spec.Mode = v1alpha1.ModeScheduled
		expectInvalid(env.SourceClient.Create(ctx, r), "spec.schedule", "schedule is required when mode is Scheduled")
	})

	It("rejects a cron expression the schema shape accepts but cron cannot parse", func(ctx context.Context) {
		ns := createNamespace(ctx, "tenant", tenantLabels, nil)
		r := replication(ns.Name, "app", target(harness.RemoteClusterName, ""))
		r.Spec.Mode, r.Spec.Schedule = v1alpha1.ModeScheduled, "61 * * * *"
		expectInvalid(env.SourceClient.Create(ctx, r), "spec.schedule", "61")
	})

	It("rejects an invalid replicas value and duplicate target clusters", func(ctx context.Context) {
		ns := createNamespace(ctx, "tenant", tenantLabels, nil)
		r := replication(ns.Name, "app", target(harness.RemoteClusterName, ""))
		r.Spec.Workloads.Replicas = new(intstr.FromString("Lots"))
		expectInvalid(env.SourceClient.Create(ctx, r), "spec.workloads.replicas", `replicas must be "Zero", "Preserve" or a number`)

		r = replication(ns.Name, "app", target(harness.RemoteClusterName, ""), target(harness.RemoteClusterName, ""))
		expectInvalid(env.SourceClient.Create(ctx, r), "spec.targets[1]", "Duplicate value")
	})

	It("limits a tenant Replication to the DR namespace of its own name", func(ctx context.Context) {
		ns := createNamespace(ctx, "tenant", tenantLabels, nil)
		r := replication(ns.Name, "app", target(harness.RemoteClusterName, "{{.Namespace}}-dr"))
		expectInvalid(env.SourceClient.Create(ctx, r), "spec.targets[0].namespace", "may only write to the DR namespace of its own name")
	})

	It("refuses a tenant whose namespace the RemoteCluster does not allow", func(ctx context.Context) {
		ns := createNamespace(ctx, "outsider", nil, nil)
		r := replication(ns.Name, "app", target(harness.RemoteClusterName, ""))
		expectInvalid(env.SourceClient.Create(ctx, r), "spec.targets[0].cluster", "does not allow Replications from namespace")
	})

	It("admits an unknown RemoteCluster with a warning", func(ctx context.Context) {
		ns := createNamespace(ctx, "tenant", tenantLabels, nil)
		warnings.Take()
		Expect(warned.Create(ctx, replication(ns.Name, "app", target("not-yet", "")))).To(Succeed())
		Expect(warnings.Take()).To(ContainElement(ContainSubstring(`RemoteCluster "not-yet" does not exist yet`)))
	})

	It("denies two replications claiming the same namespace and target", func(ctx context.Context) {
		name := uniqueName("claim")
		ns := createNamespace(ctx, "claimed", tenantLabels, map[string]string{keys.AnnotationReplicate: name})
		Expect(env.SourceClient.Create(ctx, clusterReplication(name, target(harness.RemoteClusterName, "")))).To(Succeed())
		err := env.SourceClient.Create(ctx, replication(ns.Name, "app", target(harness.RemoteClusterName, "")))
		expectInvalid(err, "spec.targets[0].cluster", "is already replicated to cluster")
		Expect(err.Error()).To(ContainSubstring("ClusterReplication/" + name))
	})

	It("denies a target that maps several namespaces onto one fixed DR namespace", func(ctx context.Context) {
		name := uniqueName("merge")
		createNamespace(ctx, "m1", map[string]string{"merge": name}, nil)
		createNamespace(ctx, "m2", map[string]string{"merge": name}, nil)
		cr := clusterReplication(name, target(harness.RemoteClusterName, "everything"))
		cr.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"merge": name}}
		expectInvalid(env.SourceClient.Create(ctx, cr), "spec.targets[0].namespace", "would merge 2 source namespaces")
	})

	It("denies a template that renders an invalid name for a covered namespace", func(ctx context.Context) {
		name := uniqueName("long")
		createNamespace(ctx, "a-rather-long-namespace-name-for-templates-xx", nil, map[string]string{keys.AnnotationReplicate: name})
		expectInvalid(env.SourceClient.Create(ctx, clusterReplication(name, target(harness.RemoteClusterName, "{{.Namespace}}-disaster-recovery"))),
			"spec.targets[0].namespace", "not a valid namespace name")
	})

	It("never writes into system namespaces or dr-syncer's own namespace", func(ctx context.Context) {
		expectInvalid(env.SourceClient.Create(ctx, clusterReplication(uniqueName("sys"), target(harness.RemoteClusterName, "kube-system"))),
			"spec.targets[0].namespace", "system namespace")
		name := uniqueName("own")
		createNamespace(ctx, "own", nil, map[string]string{keys.AnnotationReplicate: name})
		expectInvalid(env.SourceClient.Create(ctx, clusterReplication(name, target(harness.RemoteClusterName, harness.ControllerNamespace))),
			"spec.targets[0].namespace", "dr-syncer's own namespace")
	})

	It("denies a target that points back at the source namespace on the source cluster", func(ctx context.Context) {
		self, err := env.Kubeconfig(env.Source, "self")
		Expect(err).NotTo(HaveOccurred())
		registerRemote(ctx, "self", kubeconfigData(self), v1alpha1.RemoteClusterSpec{})
		name := uniqueName("loop")
		createNamespace(ctx, "loop", nil, map[string]string{keys.AnnotationReplicate: name})
		Eventually(func() error {
			return env.SourceClient.Create(ctx, clusterReplication(name, target("self", "")))
		}).Should(MatchError(ContainSubstring("is the source cluster itself")))
		// The same cluster into another namespace is a legitimate copy.
		Expect(env.SourceClient.Create(ctx, clusterReplication(name, target("self", "{{.Namespace}}-copy")))).To(Succeed())
	})
})

var _ = Describe("RemoteCluster admission", func() {
	It("defaults qps and burst and rejects burst below qps", func(ctx context.Context) {
		rc := &v1alpha1.RemoteCluster{ObjectMeta: metav1.ObjectMeta{Name: uniqueName("rc")},
			Spec: v1alpha1.RemoteClusterSpec{KubeconfigSecretRef: v1alpha1.SecretKeyRef{Name: harness.KubeconfigSecret}, QPS: 300}}
		Expect(env.SourceClient.Create(ctx, rc)).To(Succeed())
		Expect(rc.Spec.Burst).To(Equal(int32(600)))
		Expect(rc.Spec.KubeconfigSecretRef.Key).To(Equal("kubeconfig"))
		Expect(rc.Spec.HealthCheckInterval.Duration.String()).To(Equal("30s"))

		bad := &v1alpha1.RemoteCluster{ObjectMeta: metav1.ObjectMeta{Name: uniqueName("rc")},
			Spec: v1alpha1.RemoteClusterSpec{KubeconfigSecretRef: v1alpha1.SecretKeyRef{Name: "x"}, QPS: 100, Burst: 10}}
		expectInvalid(env.SourceClient.Create(ctx, bad), "spec.burst", "burst must be at least qps")
	})

	It("warns about a missing kubeconfig Secret and about deleting a cluster in use", func(ctx context.Context) {
		warnings.Take()
		rc := &v1alpha1.RemoteCluster{ObjectMeta: metav1.ObjectMeta{Name: uniqueName("rc")},
			Spec: v1alpha1.RemoteClusterSpec{KubeconfigSecretRef: v1alpha1.SecretKeyRef{Name: "missing"}}}
		Expect(warned.Create(ctx, rc)).To(Succeed())
		Expect(warnings.Take()).To(ContainElement(ContainSubstring("Secret dr-syncer-system/missing does not exist yet")))

		Expect(env.SourceClient.Create(ctx, clusterReplication(uniqueName("user"), target(rc.Name, "{{.Namespace}}-dr")))).To(Succeed())
		Expect(warned.Delete(ctx, rc)).To(Succeed())
		Expect(warnings.Take()).To(ContainElement(ContainSubstring("is still a target of")))
	})
})

var _ = Describe("Labeling", Label("skew"), func() {
	It("labels a namespace that opts in and unlabels it when the annotation goes", func(ctx context.Context) {
		ns := createNamespace(ctx, "optin", nil, map[string]string{keys.AnnotationReplicate: "prod"})
		Expect(ns.Labels).To(HaveKeyWithValue(keys.LabelReplication, "prod"))
		delete(ns.Annotations, keys.AnnotationReplicate)
		Expect(env.SourceClient.Update(ctx, ns)).To(Succeed())
		Expect(ns.Labels).NotTo(HaveKey(keys.LabelReplication))
	})

	It("labels included kinds in opted-in namespaces only, honoring exclusion and never-mirrored objects", func(ctx context.Context) {
		in := createNamespace(ctx, "optin", nil, map[string]string{keys.AnnotationReplicate: "prod"})
		out := createNamespace(ctx, "plain", nil, nil)

		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: in.Name, Name: "app"}, Data: map[string]string{"k": "v"}}
		Expect(env.SourceClient.Create(ctx, cm)).To(Succeed())
		Expect(cm.Labels).To(HaveKeyWithValue(keys.LabelReplication, "prod"))

		other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: out.Name, Name: "app"}}
		Expect(env.SourceClient.Create(ctx, other)).To(Succeed())
		Expect(other.Labels).NotTo(HaveKey(keys.LabelReplication))

		excluded := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: in.Name, Name: "skip", Annotations: map[string]string{keys.KeyExclude: "true"}}}
		Expect(env.SourceClient.Create(ctx, excluded)).To(Succeed())
		Expect(excluded.Labels).NotTo(HaveKey(keys.LabelReplication))

		// Excluding a labeled object later removes the label.
		cm.Labels[keys.KeyExclude] = "true"
		Expect(env.SourceClient.Update(ctx, cm)).To(Succeed())
		Expect(cm.Labels).NotTo(HaveKey(keys.LabelReplication))

		helm := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: in.Name, Name: "sh.helm.release.v1.app.v1"}, Type: "helm.sh/release.v1"}
		Expect(env.SourceClient.Create(ctx, helm)).To(Succeed())
		Expect(helm.Labels).NotTo(HaveKey(keys.LabelReplication))

		opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: in.Name, Name: "creds"}, StringData: map[string]string{"p": "x"}}
		Expect(env.SourceClient.Create(ctx, opaque)).To(Succeed())
		Expect(opaque.Labels).To(HaveKeyWithValue(keys.LabelReplication, "prod"))
	})

	It("labels resources of a namespace that has a tenant Replication", func(ctx context.Context) {
		ns := createNamespace(ctx, "tenant", tenantLabels, nil)
		Expect(env.SourceClient.Create(ctx, replication(ns.Name, "mine", target(harness.RemoteClusterName, "")))).To(Succeed())
		Eventually(func(g Gomega) {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, GenerateName: "app-"}}
			g.Expect(env.SourceClient.Create(ctx, cm)).To(Succeed())
			g.Expect(cm.Labels).To(HaveKeyWithValue(keys.LabelReplication, "mine"))
		}).Should(Succeed())
	})

	It("skips the controller namespace", func(ctx context.Context) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: harness.ControllerNamespace, Name: uniqueName("cm"),
			Annotations: map[string]string{keys.AnnotationReplicate: "prod"}}}
		Expect(env.SourceClient.Create(ctx, cm)).To(Succeed())
		Expect(cm.Labels).NotTo(HaveKey(keys.LabelReplication))
	})
})

var _ = Describe("kubectl", func() {
	It("prints the field paths and messages of an invalid sample", func(ctx context.Context) {
		kubeconfig, err := env.Kubeconfig(env.Source, "kubectl-user")
		Expect(err).NotTo(HaveOccurred())
		path := filepath.Join(GinkgoT().TempDir(), "source.kubeconfig")
		Expect(os.WriteFile(path, kubeconfig, 0o600)).To(Succeed())
		kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
		cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", path, "apply", "-f",
			filepath.Join(harness.RepoRoot(), "config", "samples", "invalid-replication.yaml"))
		out, err := cmd.CombinedOutput()
		Expect(err).To(HaveOccurred(), "kubectl apply must fail on the invalid sample")
		Expect(string(out)).To(ContainSubstring("spec.schedule"))
		Expect(string(out)).To(ContainSubstring("schedule is required when mode is Scheduled"))
		Expect(string(out)).To(ContainSubstring("spec.workloads.replicas"))
	})

	It("rejects a replication name that cannot be a label value, with its field path, for both kinds", func(ctx context.Context) {
		kubeconfig, err := env.Kubeconfig(env.Source, "kubectl-user3")
		Expect(err).NotTo(HaveOccurred())
		dir := GinkgoT().TempDir()
		path := filepath.Join(dir, "source.kubeconfig")
		Expect(os.WriteFile(path, kubeconfig, 0o600)).To(Succeed())
		long := strings.Repeat("a", 64)
		manifest := filepath.Join(dir, "long.yaml")
		Expect(os.WriteFile(manifest, []byte(`apiVersion: drsyncer.io/v1alpha1
kind: ClusterReplication
metadata:
  name: `+long+`
spec:
  targets: [{cluster: dr}]
---
apiVersion: drsyncer.io/v1alpha1
kind: Replication
metadata:
  name: `+long+`
  namespace: default
spec:
  targets: [{cluster: dr}]
`), 0o600)).To(Succeed())
		kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
		out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", path, "apply", "-f", manifest).CombinedOutput()
		Expect(err).To(HaveOccurred(), string(out))
		Expect(strings.Count(string(out), "metadata.name: Invalid value")).To(Equal(2), string(out))
		Expect(string(out)).To(ContainSubstring("must be a DNS-1123 label of at most 63 characters"))
	})

	It("finds the kinds by short names that collide with no built-in kind", func(ctx context.Context) {
		kubeconfig, err := env.Kubeconfig(env.Source, "kubectl-user2")
		Expect(err).NotTo(HaveOccurred())
		path := filepath.Join(GinkgoT().TempDir(), "source.kubeconfig")
		Expect(os.WriteFile(path, kubeconfig, 0o600)).To(Succeed())
		kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
		out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", path, "api-resources", "--no-headers").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		owners := map[string][]string{}
		for _, line := range splitLines(string(out)) {
			fields := splitFields(line)
			// NAME SHORTNAMES APIVERSION NAMESPACED KIND: short names are present when there are 5 fields.
			if len(fields) == 5 {
				for _, s := range splitComma(fields[1]) {
					owners[s] = append(owners[s], fields[4])
				}
			}
		}
		for short, kind := range map[string]string{"rmc": "RemoteCluster", "crepl": "ClusterReplication", "repl": "Replication"} {
			Expect(owners[short]).To(Equal([]string{kind}), "short name %s", short)
		}
	})
})

var _ = Describe("Webhook outage", Ordered, func() {
	AfterAll(func(ctx context.Context) {
		if !env.ManagerRunning() {
			Expect(env.StartManager(ctx)).To(Succeed())
		}
	})

	It("never blocks users, CEL still rejects invalid CRs, and the controller backfills after", func(ctx context.Context) {
		name := uniqueName("outage")
		ns := createNamespace(ctx, "outage", tenantLabels, map[string]string{keys.AnnotationReplicate: name})
		Expect(env.SourceClient.Create(ctx, clusterReplication(name, target(harness.RemoteClusterName, "{{.Namespace}}-dr")))).To(Succeed())
		env.StopManager()

		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "during-outage"}}
		Expect(env.SourceClient.Create(ctx, cm)).To(Succeed())
		Expect(cm.Labels).NotTo(HaveKey(keys.LabelReplication), "no webhook, no label: the controller backfills it")

		r := replication(ns.Name, "app", target(harness.RemoteClusterName, ""))
		r.Spec.Mode = v1alpha1.ModeScheduled
		expectInvalid(env.SourceClient.Create(ctx, r), "spec.schedule", "schedule is required when mode is Scheduled")

		// A valid CR is not admitted without its validating webhook (failurePolicy Fail).
		err := env.SourceClient.Create(ctx, replication(ns.Name, "ok", target(harness.RemoteClusterName, "")))
		Expect(err).To(MatchError(ContainSubstring("failed calling webhook")))

		By("the controller, back, labels and mirrors what the webhook missed")
		Expect(env.StartManager(ctx)).To(Succeed())
		Eventually(func() error {
			return env.DRClient.Get(ctx, client.ObjectKey{Namespace: ns.Name + "-dr", Name: "during-outage"}, &corev1.ConfigMap{})
		}).WithTimeout(20 * time.Second).Should(Succeed())
		Expect(env.SourceClient.Get(ctx, client.ObjectKeyFromObject(cm), cm)).To(Succeed())
		Expect(cm.Labels).To(HaveKeyWithValue(keys.LabelReplication, name))
	})
})
