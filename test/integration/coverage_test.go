package integration

import (
	"context"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/test/harness"
)

// labelerCalls is how many admission requests the resource labeler has served in this process.
func labelerCalls() float64 {
	GinkgoHelper()
	families, err := ctrlmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	total := 0.0
	for _, f := range families {
		if f.GetName() != "controller_runtime_webhook_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "webhook" && l.GetValue() == "/label-resource" {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

func namespaceLabel(ctx context.Context, name string) string {
	var ns corev1.Namespace
	if err := env.SourceClient.Get(ctx, client.ObjectKey{Name: name}, &ns); err != nil {
		return "error: " + err.Error()
	}
	return ns.Labels[keys.LabelReplication]
}

var _ = Describe("One scope decision", func() {
	It("keeps a Helm release Secret mirrored with includeHelmReleases through a Helm-style update", func(ctx context.Context) {
		ns, _, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) { cr.Spec.Resources.IncludeHelmReleases = true })
		release := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "sh.helm.release.v1.shop.v1",
			Labels: map[string]string{"owner": "helm", "name": "shop", "status": "deployed", "version": "1"}},
			Type: "helm.sh/release.v1", Data: map[string][]byte{"release": []byte("H4sIAAAA")}}
		// The labeler is called once the controller has marked the namespace covered; a create before
		// that would stay unlabeled until the backfill, and a retried create would find it taken.
		Eventually(func() string { return namespaceLabel(ctx, ns.Name) }).WithTimeout(wait).ShouldNot(BeEmpty())
		Eventually(func(g Gomega) {
			r := release.DeepCopy()
			g.Expect(env.SourceClient.Create(ctx, r)).To(Succeed())
			if _, ok := r.Labels[keys.LabelReplication]; !ok {
				// The API server had not seen the namespace's label yet: try again from scratch.
				g.Expect(env.SourceClient.Delete(ctx, r)).To(Succeed())
			}
			g.Expect(r.Labels).To(HaveKey(keys.LabelReplication), "the webhook labels it as the replication says")
			release = r
		}).WithTimeout(wait).Should(Succeed())
		var copy corev1.Secret
		eventuallyOnDR(ctx, drNS, release.Name, &copy)

		By("Helm supersedes the release: an update that writes its own labels only")
		release.Labels = map[string]string{"owner": "helm", "name": "shop", "status": "superseded", "version": "1"}
		Expect(env.SourceClient.Update(ctx, release)).To(Succeed())
		Expect(release.Labels).To(HaveKey(keys.LabelReplication), "the webhook stripped the label of a Secret the replication mirrors")
		Eventually(func(g Gomega) {
			g.Expect(drGet(ctx, drNS, release.Name, &copy)).To(Succeed())
			g.Expect(copy.Labels).To(HaveKeyWithValue("status", "superseded"))
		}).WithTimeout(wait).Should(Succeed())
		Consistently(func() error { return drGet(ctx, drNS, release.Name, &corev1.Secret{}) }).WithTimeout(3 * wait / 20).Should(Succeed())
	})
})

var _ = Describe("The webhook touches only what it covers", func() {
	It("labels the namespaces replications cover, and only there is the resource labeler called, within 2 s", func(ctx context.Context) {
		By("the resource labeler is configured for covered namespaces with a 2 s timeout")
		var mwc admissionregistrationv1.MutatingWebhookConfiguration
		Expect(env.SourceClient.Get(ctx, client.ObjectKey{Name: "dr-syncer-mutating"}, &mwc)).To(Succeed())
		for _, w := range mwc.Webhooks {
			if strings.HasPrefix(w.Name, "label-") {
				Expect(*w.TimeoutSeconds).To(Equal(int32(2)), w.Name)
			}
			if w.Name == "label-resource.drsyncer.io" {
				Expect(w.NamespaceSelector.MatchExpressions).To(ContainElement(metav1.LabelSelectorRequirement{Key: keys.LabelReplication, Operator: metav1.LabelSelectorOpExists}))
			}
		}

		By("a tenant Replication, a selector and the annotation each label their namespace")
		tenant := createNamespace(ctx, "covered", tenantLabels, nil)
		Expect(env.SourceClient.Create(ctx, replication(tenant.Name, "mine", target(harness.RemoteClusterName, "")))).To(Succeed())
		selected := createNamespace(ctx, "covered", map[string]string{"tier": "gold-" + tenant.Name}, nil)
		cr := clusterReplication(uniqueName("gold"), target(harness.RemoteClusterName, "{{.Namespace}}-dr"))
		cr.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold-" + tenant.Name}}
		Expect(env.SourceClient.Create(ctx, cr)).To(Succeed())
		annotated, _, _ := optIn(ctx, nil)
		plain := createNamespace(ctx, "uncovered", nil, nil)
		Eventually(func() string { return namespaceLabel(ctx, tenant.Name) }).WithTimeout(wait).Should(Equal("mine"))
		Eventually(func() string { return namespaceLabel(ctx, selected.Name) }).WithTimeout(wait).Should(Equal(cr.Name))
		Expect(annotated.Labels).To(HaveKey(keys.LabelReplication))
		Consistently(func() string { return namespaceLabel(ctx, plain.Name) }).WithTimeout(wait / 10).Should(BeEmpty())

		By("a write in a covered namespace is labeled at once; in an uncovered one the labeler is never called")
		for _, ns := range []string{tenant.Name, selected.Name} {
			before := labelerCalls()
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}}
			Expect(env.SourceClient.Create(ctx, cm)).To(Succeed())
			Expect(cm.Labels).To(HaveKey(keys.LabelReplication), ns)
			Expect(labelerCalls()).To(BeNumerically(">", before))
		}
		// Retried: a write of another spec's passes could land in the same window.
		Eventually(func(g Gomega) {
			before := labelerCalls()
			for i := range 20 {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: plain.Name, GenerateName: fmt.Sprintf("w%d-", i)}}
				g.Expect(env.SourceClient.Create(ctx, cm)).To(Succeed())
				cm.Data = map[string]string{"k": "v"}
				g.Expect(env.SourceClient.Update(ctx, cm)).To(Succeed())
			}
			g.Expect(labelerCalls()).To(Equal(before), "40 writes in an uncovered namespace called the labeler")
		}).WithTimeout(wait).Should(Succeed())

		By("a namespace no longer covered loses the label")
		Expect(env.SourceClient.Delete(ctx, &v1alpha1.Replication{ObjectMeta: metav1.ObjectMeta{Namespace: tenant.Name, Name: "mine"}})).To(Succeed())
		Expect(env.SourceClient.Delete(ctx, cr)).To(Succeed())
		Eventually(func() string { return namespaceLabel(ctx, tenant.Name) }).WithTimeout(wait).Should(BeEmpty())
		Eventually(func() string { return namespaceLabel(ctx, selected.Name) }).WithTimeout(wait).Should(BeEmpty())
	})
})
