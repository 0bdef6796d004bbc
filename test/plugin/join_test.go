package plugin

import (
	"context"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/access"
	"github.com/drsyncer/dr-syncer/test/harness"
)

var _ = Describe("join and unjoin", func() {
	It("prints what join would create on both clusters with --dry-run, and creates nothing", func(ctx context.Context) {
		res := drsyncer(ctx, "join", "dry", "--dry-run", "--resource", "widgets.example.com")
		Expect(res.code).To(BeZero(), res.err)
		for _, want := range []string{"# on the DR cluster", "kind: ClusterRole", "name: " + access.ClusterRole, "widgets", "serviceaccounts/token",
			"# on the source cluster", "kind: RemoteCluster", "name: dry-kubeconfig"} {
			Expect(res.out).To(ContainSubstring(want))
		}
		Expect(res.out).NotTo(MatchRegexp(`token: [A-Za-z0-9]`), "no token in a dry run")
		Expect(apierrors.IsNotFound(env.SourceClient.Get(ctx, client.ObjectKey{Name: "dry"}, &v1alpha1.RemoteCluster{}))).To(BeTrue())
	})

	It("registers a DR cluster that becomes Ready, is idempotent, and unjoin removes what it made", func(ctx context.Context) {
		for range 2 {
			res := drsyncer(ctx, "join", "joined", "--controller-namespace", harness.ControllerNamespace)
			Expect(res.code).To(BeZero(), res.err)
			Expect(res.out).To(ContainSubstring("joined"))
		}
		var role rbacv1.ClusterRole
		Expect(env.DRClient.Get(ctx, client.ObjectKey{Name: access.ClusterRole}, &role)).To(Succeed())
		Expect(access.Granted(role.Rules)).To(ContainElements(harness.TestResources), "a join without --resource took away what an earlier one granted")
		Eventually(func(g Gomega) {
			var rc v1alpha1.RemoteCluster
			g.Expect(env.SourceClient.Get(ctx, client.ObjectKey{Name: "joined"}, &rc)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(rc.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue(), "%v", rc.Status.Conditions)
		}).WithTimeout(wait).Should(Succeed())
		var secret corev1.Secret
		Expect(env.SourceClient.Get(ctx, client.ObjectKey{Namespace: harness.ControllerNamespace, Name: "joined-kubeconfig"}, &secret)).To(Succeed())
		token, err := access.TokenOf(secret.Data[v1alpha1.DefaultKubeconfigKey])
		Expect(err).NotTo(HaveOccurred())
		bound, ok := access.ParseBoundToken(token)
		Expect(ok).To(BeTrue(), "join stores a bound, expiring token")
		Expect(bound.ServiceAccount).To(Equal(access.ServiceAccount))

		res := drsyncer(ctx, "unjoin", "joined", "--keep-dr-identity", "--controller-namespace", harness.ControllerNamespace)
		Expect(res.code).To(BeZero(), res.err)
		Expect(apierrors.IsNotFound(env.SourceClient.Get(ctx, client.ObjectKey{Name: "joined"}, &v1alpha1.RemoteCluster{}))).To(BeTrue())
		Expect(apierrors.IsNotFound(env.SourceClient.Get(ctx, client.ObjectKeyFromObject(&secret), &corev1.Secret{}))).To(BeTrue())
		// The suite's own RemoteCluster "dr" still uses the identity: it was kept.
		Expect(env.DRClient.Get(ctx, client.ObjectKey{Name: access.ClusterRole}, &rbacv1.ClusterRole{})).To(Succeed())
		Expect(strings.TrimSpace(res.out)).To(Equal("unjoined RemoteCluster joined"))
	})
})
