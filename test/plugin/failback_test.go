package plugin

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
)

var _ = Describe("Failback", func() {
	It("shows what changed on DR since the promote and refuses to discard it without --force", func(ctx context.Context) {
		const name = "failback"
		drNS := name + "-dr"
		optIn(ctx, name, nil)
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "orders"}, Data: map[string]string{"limit": "10"}})).To(Succeed())
		one := int32(1)
		Expect(env.SourceClient.Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "web"}, Spec: appsv1.DeploymentSpec{
			Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: podTemplate("web")}})).To(Succeed())
		Eventually(func() error {
			return env.DRClient.Get(ctx, client.ObjectKey{Namespace: drNS, Name: "orders"}, &corev1.ConfigMap{})
		}).WithTimeout(wait).WithPolling(tick).Should(Succeed())
		Eventually(func() error {
			return env.DRClient.Get(ctx, client.ObjectKey{Namespace: drNS, Name: "web"}, &appsv1.Deployment{})
		}).WithTimeout(wait).WithPolling(tick).Should(Succeed())

		r := drsyncer(ctx, "promote", name, "--target", "dr")
		Expect(r.code).To(BeZero(), r.out+r.err)
		Expect(env.DRClient.Get(ctx, client.ObjectKey{Namespace: drNS, Name: "drsyncer-promoted-" + name}, &corev1.Secret{})).To(Succeed(), "promote records the copies")

		By("with nothing changed on DR but the scale, a dry run finds nothing to lose")
		var dep appsv1.Deployment
		Expect(env.DRClient.Get(ctx, client.ObjectKey{Namespace: drNS, Name: "web"}, &dep)).To(Succeed())
		five := int32(5)
		dep.Spec.Replicas = &five // an HPA on DR scaled it: demote sets replicas back by design
		Expect(env.DRClient.Update(ctx, &dep)).To(Succeed())
		r = drsyncer(ctx, "demote", name, "--target", "dr", "--dry-run")
		Expect(r.code).To(BeZero(), r.out+r.err)
		Expect(r.out).NotTo(ContainSubstring("changed on DR since the promote"))

		By("users change a ConfigMap on DR and delete a setting while DR serves")
		var cm corev1.ConfigMap
		Expect(env.DRClient.Get(ctx, client.ObjectKey{Namespace: drNS, Name: "orders"}, &cm)).To(Succeed())
		cm.Data["limit"] = "50"
		Expect(env.DRClient.Update(ctx, &cm)).To(Succeed())
		Expect(env.DRClient.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: drNS, Name: "settings"}})).To(Succeed())

		r = drsyncer(ctx, "demote", name, "--target", "dr", "--dry-run")
		Expect(r.code).NotTo(BeZero())
		Expect(r.out).To(ContainSubstring("changed on DR since the promote: 1 copy changed, 1 deleted"))
		Expect(r.out).To(ContainSubstring("-  limit: \"10\""))
		Expect(r.out).To(ContainSubstring("+  limit: \"50\""))
		Expect(r.out).To(ContainSubstring("ConfigMap failback-dr/settings: deleted on DR"))

		r = drsyncer(ctx, "demote", name, "--target", "dr")
		Expect(r.code).NotTo(BeZero())
		Expect(r.err).To(ContainSubstring("1 copy changed and 1 deleted on DR since the promote"))
		Expect(env.DRClient.Get(ctx, client.ObjectKey{Namespace: drNS, Name: "orders"}, &cm)).To(Succeed())
		Expect(cm.Annotations).To(HaveKey(keys.AnnotationPromoted), "a refused demote changed a copy")

		By("--force discards them and removes the record")
		r = drsyncer(ctx, "demote", name, "--target", "dr", "--force")
		Expect(r.code).To(BeZero(), r.out+r.err)
		Expect(r.out).To(ContainSubstring("discarding what changed on DR since the promote (--force)"))
		err := env.DRClient.Get(ctx, client.ObjectKey{Namespace: drNS, Name: "drsyncer-promoted-" + name}, &corev1.Secret{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the record outlives the demote")
	})
})
