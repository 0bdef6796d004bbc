package integration

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/cli"
	"github.com/drsyncer/dr-syncer/controllers/remotecluster"
	"github.com/drsyncer/dr-syncer/manager"
	"github.com/drsyncer/dr-syncer/pkg/access"
	"github.com/drsyncer/dr-syncer/pkg/clusters"
	"github.com/drsyncer/dr-syncer/test/harness"
)

var _ = Describe("The DR token join stores", func() {
	It("is renewed by dr-syncer once two thirds of its life are gone, as the ServiceAccount itself", func(ctx context.Context) {
		name := uniqueName("renew")
		Expect(cli.Join(ctx, env.SourceClient, rest.CopyConfig(env.DRConfig), cli.JoinOptions{Name: name,
			ControllerNamespace: harness.ControllerNamespace, TokenLifetime: time.Hour})).To(Succeed())
		key := client.ObjectKey{Namespace: harness.ControllerNamespace, Name: name + "-kubeconfig"}
		tokenNow := func() (string, access.BoundToken) {
			var secret corev1.Secret
			Expect(env.SourceClient.Get(ctx, key, &secret)).To(Succeed())
			token, err := access.TokenOf(secret.Data[v1alpha1.DefaultKubeconfigKey])
			Expect(err).NotTo(HaveOccurred())
			bound, ok := access.ParseBoundToken(token)
			Expect(ok).To(BeTrue())
			return token, bound
		}
		first, bound := tokenNow()

		// A RemoteCluster controller whose clock is 41 minutes on: the hour-long token is due.
		offset := 41 * time.Minute
		r := &remotecluster.Reconciler{Client: env.SourceClient, Namespace: harness.ControllerNamespace,
			Registry: clusters.NewRegistry(manager.Scheme(), nil), Now: func() time.Time { return time.Now().Add(offset) }}
		defer r.Registry.Stop()
		req := ctrl.Request{NamespacedName: types.NamespacedName{Name: name}}
		res, err := r.Reconcile(ctx, req)
		Expect(err).NotTo(HaveOccurred())
		second, renewed := tokenNow()
		Expect(second).NotTo(Equal(first), "the token was not renewed")
		Expect(renewed.Expires).To(BeTemporally(">=", bound.Expires))
		Expect(renewed.Lifetime()).To(Equal(time.Hour), "a renewal asks for the lifetime join chose")
		Expect(res.RequeueAfter).To(BeNumerically("<=", time.Minute), "the next look comes when the health check is due")

		By("the renewed token works, and the cluster is Ready on it")
		offset = 0
		_, err = r.Reconcile(ctx, req)
		Expect(err).NotTo(HaveOccurred())
		var rc v1alpha1.RemoteCluster
		Expect(env.SourceClient.Get(ctx, req.NamespacedName, &rc)).To(Succeed())
		Expect(meta.IsStatusConditionTrue(rc.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue(), "%v", rc.Status.Conditions)
		third, _ := tokenNow()
		Expect(third).To(Equal(second), "a fresh token is not renewed again")
		Expect(env.SourceClient.Delete(ctx, &rc)).To(Succeed())
	})
})

var _ = Describe("A permission the DR identity lacks", func() {
	It("fails only the kind it concerns, and says which verb on which resource, where, and how to grant it", func(ctx context.Context) {
		unreadable, readOnly := harness.ExampleCRD("doodad", "Doodad"), harness.ExampleCRD("gizmo", "Gizmo")
		for _, crd := range []*apiextensionsv1.CustomResourceDefinition{unreadable, readOnly} {
			Expect(env.SourceClient.Create(ctx, crd.DeepCopy())).To(Succeed())
			Expect(env.DRClient.Create(ctx, crd.DeepCopy())).To(Succeed())
		}
		// An admin granted reading Gizmos on DR, not writing them.
		Expect(env.DRClient.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "read-gizmos"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"example.com"}, Resources: []string{"gizmos"}, Verbs: []string{"get", "list", "watch"}}}})).To(Succeed())
		Expect(env.DRClient.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "read-gizmos"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "read-gizmos"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: access.Namespace, Name: access.ServiceAccount}}})).To(Succeed())

		ns, cr, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) {
			cr.Spec.Resources.Include = []v1alpha1.GroupKind{{Kind: "ConfigMap"}, {Group: "example.com", Kind: "Doodad"}, {Group: "example.com", Kind: "Gizmo"}}
		})
		for _, kind := range []string{"Doodad", "Gizmo"} {
			u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": kind,
				"metadata": map[string]any{"name": "one", "namespace": ns.Name, "labels": map[string]any{keys.LabelReplication: cr.Name}}}}
			Eventually(func() error { return env.SourceClient.Create(ctx, u) }).WithTimeout(wait).Should(Succeed())
		}
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "fine"}})).To(Succeed())
		eventuallyOnDR(ctx, drNS, "fine", &corev1.ConfigMap{})
		Eventually(func(g Gomega) {
			problems := crStatus(ctx, cr.Name).Targets[0].Problems
			g.Expect(problems).To(ContainElement(And(HaveField("Kind", "Doodad"),
				HaveField("Message", And(ContainSubstring("may not list doodads.example.com on cluster dr"), ContainSubstring("--resource doodads.example.com"))))))
			g.Expect(problems).To(ContainElement(And(HaveField("Kind", "Gizmo"),
				HaveField("Message", And(ContainSubstring(`cannot create resource "gizmos"`), ContainSubstring(drNS))))))
		}).WithTimeout(wait).Should(Succeed())
	})
})

var _ = Describe("A RemoteCluster's Authorized condition", func() {
	It("names each verb and resource mirroring needs that the DR identity may not use", func(ctx context.Context) {
		Eventually(func(g Gomega) {
			var rc v1alpha1.RemoteCluster
			g.Expect(env.SourceClient.Get(ctx, client.ObjectKey{Name: harness.RemoteClusterName}, &rc)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(rc.Status.Conditions, v1alpha1.ConditionAuthorized)).To(BeTrue(), "join's identity: %v", rc.Status.Conditions)
		}).WithTimeout(wait).Should(Succeed())

		By("an identity that may not delete core kinds")
		name := uniqueName("limited")
		rules := access.Rules(nil)
		rules[1].Verbs = []string{"get", "list", "watch", "create", "patch"} // the core kinds, without delete
		Expect(env.DRClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
		Expect(env.DRClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "writer"}})).To(Succeed())
		Expect(env.DRClient.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules})).To(Succeed())
		Expect(env.DRClient.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: name, Name: "writer"}}})).To(Succeed())
		tr := &authenticationv1.TokenRequest{}
		Expect(env.DRClient.SubResource("token").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "writer"}}, tr)).To(Succeed())
		kc, err := access.Kubeconfig(env.DRConfig.Host, env.DRConfig.CAData, tr.Status.Token)
		Expect(err).NotTo(HaveOccurred())
		registerRemote(ctx, name, kubeconfigData(kc), v1alpha1.RemoteClusterSpec{})
		Eventually(func(g Gomega) {
			var rc v1alpha1.RemoteCluster
			g.Expect(env.SourceClient.Get(ctx, client.ObjectKey{Name: name}, &rc)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(rc.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue(), "%v", rc.Status.Conditions)
			authorized := meta.FindStatusCondition(rc.Status.Conditions, v1alpha1.ConditionAuthorized)
			g.Expect(authorized).NotTo(BeNil())
			g.Expect(authorized.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(authorized.Reason).To(Equal(v1alpha1.ReasonMissingPermissions))
			g.Expect(authorized.Message).To(And(ContainSubstring("may not delete serviceaccounts, delete configmaps"), ContainSubstring("in any namespace of cluster "+name)))
		}).WithTimeout(wait).Should(Succeed())
	})
})
