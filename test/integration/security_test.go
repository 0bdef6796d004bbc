package integration

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/manager"
	"github.com/drsyncer/dr-syncer/test/harness"
)

// tenantClient is a user of the source cluster who may manage Replications, ConfigMaps and Secrets
// in namespace ns, and nothing else.
func tenantClient(ctx context.Context, ns string) client.Client {
	GinkgoHelper()
	user, err := env.Source.AddUser(envtest.User{Name: "tenant-of-" + ns}, nil)
	Expect(err).NotTo(HaveOccurred())
	Expect(env.SourceClient.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"replications"}, Verbs: []string{"*"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}, Verbs: []string{"*"}},
	}})).To(Succeed())
	Expect(env.SourceClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "tenant"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "tenant-of-" + ns}},
	})).To(Succeed())
	c, err := client.New(user.Config(), client.Options{Scheme: manager.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	return c
}

func replicationReady(ctx context.Context, r *v1alpha1.Replication) *metav1.Condition {
	var got v1alpha1.Replication
	if err := env.SourceClient.Get(ctx, client.ObjectKeyFromObject(r), &got); err != nil {
		return nil
	}
	return meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
}

var _ = Describe("Tenant isolation", func() {
	It("lets a tenant who manages only its namespace neither read nor write beyond it", func(ctx context.Context) {
		ns := createNamespace(ctx, "tenant", tenantLabels, nil)
		victim := createNamespace(ctx, "victim", nil, nil)
		// An object elsewhere that carries the label a tenant's Replication "mine" would select.
		Expect(env.SourceClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: victim.Name, Name: "db-password",
			Labels: map[string]string{keys.LabelReplication: "mine"}}, StringData: map[string]string{"password": "hunter2"}})).To(Succeed())
		tc := tenantClient(ctx, ns.Name)

		By("RBAC: the tenant cannot read other namespaces, nor create Replications there")
		Expect(apierrors.IsForbidden(tc.List(ctx, &corev1.SecretList{}, client.InNamespace(victim.Name)))).To(BeTrue())
		Expect(apierrors.IsForbidden(tc.Create(ctx, replication(victim.Name, "mine", target(harness.RemoteClusterName, ""))))).To(BeTrue())

		By("the webhook: no other DR namespace, no RemoteCluster that does not allow the namespace")
		expectInvalid(tc.Create(ctx, replication(ns.Name, "mine", target(harness.RemoteClusterName, victim.Name))),
			"spec.targets[0].namespace", "may only write to the DR namespace of its own name")
		closed := uniqueName("closed") // allows no namespace
		registerRemote(ctx, closed, nil, v1alpha1.RemoteClusterSpec{})
		expectInvalid(tc.Create(ctx, replication(ns.Name, "mine", target(closed, ""))), "spec.targets[0].cluster", "does not allow Replications from namespace")

		By("a valid Replication mirrors the tenant's namespace and nothing else")
		Expect(tc.Create(ctx, replication(ns.Name, "mine", target(harness.RemoteClusterName, "")))).To(Succeed())
		Eventually(func() error {
			return tc.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "cfg"}, Data: map[string]string{"a": "b"}})
		}).WithTimeout(wait).Should(Succeed())
		eventuallyOnDR(ctx, ns.Name, "cfg", &corev1.ConfigMap{})
		var secrets corev1.SecretList
		Expect(env.DRClient.List(ctx, &secrets)).To(Succeed())
		for _, s := range secrets.Items {
			Expect(s.Name).NotTo(Equal("db-password"), "an object of another namespace reached DR through a tenant's Replication")
		}
		Expect(apierrors.IsNotFound(env.DRClient.Get(ctx, client.ObjectKey{Name: victim.Name}, &corev1.Namespace{}))).To(BeTrue())
	})

	It("stops a tenant's writes when its namespace is no longer allowed (controller guard)", func(ctx context.Context) {
		ns := createNamespace(ctx, "tenant", tenantLabels, nil)
		r := replication(ns.Name, "mine", target(harness.RemoteClusterName, ""))
		Expect(env.SourceClient.Create(ctx, r)).To(Succeed())
		Eventually(func() error {
			return env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "before"}})
		}).WithTimeout(wait).Should(Succeed())
		eventuallyOnDR(ctx, ns.Name, "before", &corev1.ConfigMap{})

		By("an admin withdraws the namespace's allowance")
		Expect(env.SourceClient.Get(ctx, client.ObjectKeyFromObject(ns), ns)).To(Succeed())
		delete(ns.Labels, "dr-tenant")
		Expect(env.SourceClient.Update(ctx, ns)).To(Succeed())
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "after"}})).To(Succeed())
		Eventually(func() string {
			if c := replicationReady(ctx, r); c != nil && c.Status == metav1.ConditionFalse {
				return c.Message
			}
			return ""
		}).WithTimeout(wait).WithPolling(tick).Should(ContainSubstring(`does not allow Replications from namespace "` + ns.Name + `"`))
		Consistently(func() bool { return apierrors.IsNotFound(drGet(ctx, ns.Name, "after", &corev1.ConfigMap{})) }).WithTimeout(2e9).Should(BeTrue())
	})

	It("refuses writes the webhook would have rejected when it was bypassed (controller guard)", func(ctx context.Context) {
		ns := createNamespace(ctx, "tenant", tenantLabels, nil)
		elsewhere := uniqueName("elsewhere")
		system, cr := createNamespace(ctx, "app", nil, nil), clusterReplication(uniqueName("crepl"), target(harness.RemoteClusterName, "kube-system"))

		By("the validating webhook is gone while the Replications are created")
		env.StopManager()
		DeferCleanup(func(ctx context.Context) {
			if !env.ManagerRunning() {
				Expect(env.StartManager(ctx)).To(Succeed())
			}
		})
		Expect(client.IgnoreNotFound(env.SourceClient.Delete(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "dr-syncer-validating"}}))).To(Succeed())
		r := replication(ns.Name, "mine", target(harness.RemoteClusterName, elsewhere))
		// The API server drops a deleted webhook configuration asynchronously: retry until it has.
		Eventually(func() error { return env.SourceClient.Create(ctx, r) }).WithTimeout(wait).Should(Succeed(), "admitted: CEL cannot know the namespace rule")
		Expect(env.SourceClient.Create(ctx, cr)).To(Succeed())
		system.Annotations = map[string]string{keys.AnnotationReplicate: cr.Name}
		Expect(env.SourceClient.Update(ctx, system)).To(Succeed())
		Expect(env.StartManager(ctx)).To(Succeed()) // registers the webhooks again
		for _, n := range []string{ns.Name, system.Name} {
			Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: n, Name: "cfg"}})).To(Succeed())
		}

		By("the controller writes neither into another DR namespace nor into kube-system")
		Eventually(func() string {
			if c := replicationReady(ctx, r); c != nil && c.Status == metav1.ConditionFalse {
				return c.Message
			}
			return ""
		}).WithTimeout(wait).WithPolling(tick).Should(ContainSubstring("may only write to the DR namespace of its own name"))
		Eventually(func(g Gomega) {
			st := crStatus(ctx, cr.Name)
			g.Expect(st.Targets).To(HaveLen(1))
			g.Expect(st.Targets[0].Problems).To(ContainElement(HaveField("Message", ContainSubstring("system namespace"))))
		}).WithTimeout(wait).WithPolling(tick).Should(Succeed())
		Expect(apierrors.IsNotFound(env.DRClient.Get(ctx, client.ObjectKey{Name: elsewhere}, &corev1.Namespace{}))).To(BeTrue())
		var copies corev1.ConfigMapList
		Expect(env.DRClient.List(ctx, &copies, client.InNamespace("kube-system"), client.MatchingLabels{keys.LabelManagedBy: keys.ManagedByValue})).To(Succeed())
		Expect(copies.Items).To(BeEmpty())
	})
})

var _ = Describe("A tenant reaches only its own namespace, whatever resources says", func() {
	It("rejects a cluster-scoped kind in resources.include, and one admitted past the webhook labels nothing outside its namespace", func(ctx context.Context) {
		ns := createNamespace(ctx, "tenant", tenantLabels, nil)
		tc := tenantClient(ctx, ns.Name)
		r := replication(ns.Name, "wide", target(harness.RemoteClusterName, ""))
		r.Spec.Resources.Include = []v1alpha1.GroupKind{{Kind: "ConfigMap"}, {Kind: "Namespace"}}
		expectInvalid(tc.Create(ctx, r.DeepCopy()), "spec.resources.include[1]", "Namespace is cluster-scoped")
		cr := clusterReplication(uniqueName("wide"), target(harness.RemoteClusterName, "{{.Namespace}}-dr"))
		cr.Spec.Resources.Include = []v1alpha1.GroupKind{{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}}
		expectInvalid(env.SourceClient.Create(ctx, cr), "spec.resources.include[0]", "ClusterRole.rbac.authorization.k8s.io is cluster-scoped")

		By("the same Replication, created while the validating webhook is gone")
		env.StopManager()
		DeferCleanup(func(ctx context.Context) {
			if !env.ManagerRunning() {
				Expect(env.StartManager(ctx)).To(Succeed())
			}
		})
		Expect(client.IgnoreNotFound(env.SourceClient.Delete(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "dr-syncer-validating"}}))).To(Succeed())
		// The API server drops a deleted webhook configuration asynchronously: retry until it has.
		Eventually(func() error { return env.SourceClient.Create(ctx, r) }).WithTimeout(wait).Should(Succeed())
		Expect(env.StartManager(ctx)).To(Succeed())
		Eventually(func() error {
			return env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "cfg"}})
		}).WithTimeout(wait).Should(Succeed())
		eventuallyOnDR(ctx, ns.Name, "cfg", &corev1.ConfigMap{})
		Eventually(func() []v1alpha1.ObjectProblem { return replicationProblems(ctx, r) }).WithTimeout(wait).Should(ContainElement(And(HaveField("Kind", "Namespace"), HaveField("Message", ContainSubstring("refused: Namespace is cluster-scoped")))))
		var labeled corev1.NamespaceList
		Expect(env.SourceClient.List(ctx, &labeled, client.MatchingLabels{keys.LabelReplication: "wide"})).To(Succeed())
		Expect(labeled.Items).To(ConsistOf(HaveField("Name", ns.Name)), "the backfill labeled namespaces of the whole cluster")
	})
})
