package integration

import (
	"context"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/certs"
	"github.com/drsyncer/dr-syncer/pkg/metrics"
	"github.com/drsyncer/dr-syncer/test/harness"
)

const (
	wait = 20 * time.Second
	tick = 100 * time.Millisecond
)

// optIn creates a namespace annotated for a new ClusterReplication with the given spec tweaks and
// returns the namespace, the replication and the DR namespace ("<ns>-dr").
func optIn(ctx context.Context, mut func(*v1alpha1.ClusterReplication)) (*corev1.Namespace, *v1alpha1.ClusterReplication, string) {
	GinkgoHelper()
	name := uniqueName("crepl")
	ns := createNamespace(ctx, "app", nil, map[string]string{keys.AnnotationReplicate: name})
	cr := clusterReplication(name, target(harness.RemoteClusterName, "{{.Namespace}}-dr"))
	cr.Spec.DeletionPolicy = v1alpha1.DeletionDelete
	if mut != nil {
		mut(cr)
	}
	Expect(env.SourceClient.Create(ctx, cr)).To(Succeed())
	return ns, cr, ns.Name + "-dr"
}

func drGet(ctx context.Context, ns, name string, obj client.Object) error {
	return env.DRClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
}

func eventuallyOnDR(ctx context.Context, ns, name string, obj client.Object) {
	GinkgoHelper()
	Eventually(func() error { return drGet(ctx, ns, name, obj) }).WithTimeout(wait).WithPolling(tick).Should(Succeed())
}

func eventuallyGoneFromDR(ctx context.Context, ns, name string, obj client.Object) {
	GinkgoHelper()
	Eventually(func() bool { return apierrors.IsNotFound(drGet(ctx, ns, name, obj)) }).WithTimeout(wait).WithPolling(tick).Should(BeTrue())
}

func crStatus(ctx context.Context, name string) v1alpha1.ReplicationStatus {
	var cr v1alpha1.ClusterReplication
	ExpectWithOffset(1, env.SourceClient.Get(ctx, client.ObjectKey{Name: name}, &cr)).To(Succeed())
	return cr.Status
}

func hasEvent(ctx context.Context, regarding, reason string) bool {
	var list eventsv1.EventList
	if err := env.SourceClient.List(ctx, &list); err != nil {
		return false
	}
	for _, e := range list.Items {
		if e.Regarding.Name == regarding && e.Reason == reason {
			return true
		}
	}
	return false
}

var _ = Describe("RemoteCluster", Label("skew"), func() {
	It("is Ready with the DR server's version", func(ctx context.Context) {
		dr := serverVersion(env.DRConfig).GitVersion
		Eventually(func(g Gomega) {
			var rc v1alpha1.RemoteCluster
			g.Expect(env.SourceClient.Get(ctx, client.ObjectKey{Name: harness.RemoteClusterName}, &rc)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(rc.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue())
			g.Expect(rc.Status.ServerVersion).To(Equal(dr))
			g.Expect(rc.Status.LastProbeTime).NotTo(BeNil())
		}).WithTimeout(wait).Should(Succeed())
		Expect(testutil.ToFloat64(metrics.RemoteClusterUp.WithLabelValues(harness.RemoteClusterName))).To(Equal(1.0))
	})

	DescribeTable("reports a readable reason for a bad kubeconfig",
		func(ctx context.Context, data map[string][]byte, reason, message string) {
			name := uniqueName("bad")
			registerRemote(ctx, name, data, v1alpha1.RemoteClusterSpec{})
			Eventually(func(g Gomega) {
				c := readyCondition(ctx, name)
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(c.Reason).To(Equal(reason))
				g.Expect(c.Message).To(ContainSubstring(message))
			}).WithTimeout(wait).Should(Succeed())
		},
		Entry("missing Secret", nil, v1alpha1.ReasonSecretNotFound, "does not exist"),
		Entry("missing key", map[string][]byte{"other": []byte("x")}, v1alpha1.ReasonInvalidKubeconfig, `has no key "kubeconfig"`),
		Entry("malformed", map[string][]byte{"kubeconfig": []byte("{{{")}, v1alpha1.ReasonInvalidKubeconfig, "does not parse"),
		Entry("exec plugin", map[string][]byte{"kubeconfig": []byte(execKubeconfig)}, v1alpha1.ReasonKubeconfigRefused, "exec credential plugin"),
		Entry("unreachable server", map[string][]byte{"kubeconfig": []byte(unreachableKubeconfig)}, v1alpha1.ReasonUnreachable, "does not answer"),
		Entry("plain http", map[string][]byte{"kubeconfig": []byte(strings.Replace(unreachableKubeconfig, "https://", "http://", 1))}, v1alpha1.ReasonKubeconfigRefused, "plain http://"),
		Entry("cloud metadata address", map[string][]byte{"kubeconfig": []byte(strings.Replace(unreachableKubeconfig, "127.0.0.1:1", "169.254.169.254", 1))},
			v1alpha1.ReasonKubeconfigRefused, "link-local or cloud metadata address 169.254.169.254"),
	)

	It("says why a kubeconfig with the wrong CA fails", func(ctx context.Context) {
		name := uniqueName("wrongca")
		kc, err := harness.IdentityKubeconfig(ctx, env.DRConfig)
		Expect(err).NotTo(HaveOccurred())
		cfg, err := clientcmd.Load(kc)
		Expect(err).NotTo(HaveOccurred())
		other, err := certs.Renew(&certs.Bundle{}, certs.RenewAll, []string{"127.0.0.1"}, time.Now())
		Expect(err).NotTo(HaveOccurred())
		cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster].CertificateAuthorityData = other.CACert
		kc, err = clientcmd.Write(*cfg)
		Expect(err).NotTo(HaveOccurred())
		registerRemote(ctx, name, kubeconfigData(kc), v1alpha1.RemoteClusterSpec{})
		Eventually(func(g Gomega) {
			c := readyCondition(ctx, name)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(v1alpha1.ReasonUnreachable))
			g.Expect(c.Message).To(ContainSubstring("certificate"))
		}).WithTimeout(wait).Should(Succeed())
	})

	It("takes a fixed kubeconfig Secret without a restart", func(ctx context.Context) {
		name := uniqueName("fixed")
		registerRemote(ctx, name, kubeconfigData([]byte(unreachableKubeconfig)), v1alpha1.RemoteClusterSpec{})
		ready := func() string {
			if c := readyCondition(ctx, name); c != nil {
				return c.Reason
			}
			return ""
		}
		Eventually(ready).WithTimeout(wait).Should(Equal(v1alpha1.ReasonUnreachable))
		Expect(testutil.ToFloat64(metrics.RemoteClusterUp.WithLabelValues(name))).To(Equal(0.0))
		good, err := harness.IdentityKubeconfig(ctx, env.DRConfig)
		Expect(err).NotTo(HaveOccurred())
		var secret corev1.Secret
		Expect(env.SourceClient.Get(ctx, client.ObjectKey{Namespace: harness.ControllerNamespace, Name: name + "-kubeconfig"}, &secret)).To(Succeed())
		secret.Data["kubeconfig"] = good
		Expect(env.SourceClient.Update(ctx, &secret)).To(Succeed())
		Eventually(ready).WithTimeout(wait).Should(Equal(v1alpha1.ReasonConnected))
		Expect(testutil.ToFloat64(metrics.RemoteClusterUp.WithLabelValues(name))).To(Equal(1.0))
	})
})

const execKubeconfig = `apiVersion: v1
kind: Config
current-context: x
contexts: [{name: x, context: {cluster: x, user: x}}]
clusters: [{name: x, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: x, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/true, interactiveMode: Never}}}]
`

const unreachableKubeconfig = `apiVersion: v1
kind: Config
current-context: x
contexts: [{name: x, context: {cluster: x, user: x}}]
clusters: [{name: x, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: x, user: {token: abc}}]
`

var _ = Describe("Mirroring", Label("skew"), func() {
	It("propagates creates, updates and deletes into the mapped namespace, DR-safe", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, nil)
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "settings"}, Data: map[string]string{"color": "blue"}}
		Expect(env.SourceClient.Create(ctx, cm)).To(Succeed())
		dep := deployment(ns.Name, "web", 3)
		Expect(env.SourceClient.Create(ctx, dep)).To(Succeed())
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "web"},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}}
		Expect(env.SourceClient.Create(ctx, svc)).To(Succeed())
		cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "report"}, Spec: batchv1.CronJobSpec{
			Schedule: "0 * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyOnFailure, Containers: []corev1.Container{{Name: "r", Image: "busybox"}}}}}}}}
		Expect(env.SourceClient.Create(ctx, cj)).To(Succeed())
		token := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "token", Labels: map[string]string{keys.LabelReplication: cr.Name},
			Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"}}, Type: corev1.SecretTypeServiceAccountToken}
		Expect(env.SourceClient.Create(ctx, token)).To(Succeed())
		helm := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "sh.helm.release.v1.app.v1", Labels: map[string]string{keys.LabelReplication: cr.Name}}, Type: "helm.sh/release.v1"}
		Expect(env.SourceClient.Create(ctx, helm)).To(Succeed())
		excluded := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "local-only", Labels: map[string]string{keys.KeyExclude: "true"}}}
		Expect(env.SourceClient.Create(ctx, excluded)).To(Succeed())

		var drCM corev1.ConfigMap
		eventuallyOnDR(ctx, drNS, "settings", &drCM)
		Expect(drCM.Data).To(Equal(map[string]string{"color": "blue"}))
		Expect(drCM.Labels).To(HaveKeyWithValue(keys.LabelManagedBy, keys.ManagedByValue))
		Expect(drCM.Annotations).To(HaveKeyWithValue(keys.AnnotationSource, "source/"+ns.Name+"/settings"))

		var drDep appsv1.Deployment
		eventuallyOnDR(ctx, drNS, "web", &drDep)
		Expect(*drDep.Spec.Replicas).To(BeZero())
		Expect(drDep.Annotations).To(HaveKeyWithValue(keys.AnnotationSourceReplicas, "3"))

		var drSvc corev1.Service
		eventuallyOnDR(ctx, drNS, "web", &drSvc)
		Expect(env.SourceClient.Get(ctx, client.ObjectKeyFromObject(svc), svc)).To(Succeed())
		Expect(drSvc.Spec.ClusterIP).NotTo(BeEmpty())
		Expect(drSvc.Spec.ClusterIP).NotTo(Equal(svc.Spec.ClusterIP), "the DR Service gets its own cluster IP")

		var drCJ batchv1.CronJob
		eventuallyOnDR(ctx, drNS, "report", &drCJ)
		Expect(*drCJ.Spec.Suspend).To(BeTrue())

		Consistently(func() bool {
			return apierrors.IsNotFound(drGet(ctx, drNS, "token", &corev1.Secret{})) &&
				apierrors.IsNotFound(drGet(ctx, drNS, helm.Name, &corev1.Secret{})) &&
				apierrors.IsNotFound(drGet(ctx, drNS, "local-only", &corev1.ConfigMap{}))
		}).WithTimeout(time.Second).Should(BeTrue(), "service-account tokens, Helm releases and excluded objects are never mirrored")

		By("an update reaches DR")
		cm.Data["color"] = "green"
		Expect(env.SourceClient.Update(ctx, cm)).To(Succeed())
		Eventually(func() string {
			_ = drGet(ctx, drNS, "settings", &drCM)
			return drCM.Data["color"]
		}).WithTimeout(wait).WithPolling(tick).Should(Equal("green"))

		By("excluding an object removes its copy under deletionPolicy Delete")
		Expect(env.SourceClient.Get(ctx, client.ObjectKeyFromObject(svc), svc)).To(Succeed())
		svc.Labels[keys.KeyExclude] = "true"
		Expect(env.SourceClient.Update(ctx, svc)).To(Succeed())
		eventuallyGoneFromDR(ctx, drNS, "web", &corev1.Service{})

		By("a delete reaches DR")
		Expect(env.SourceClient.Delete(ctx, cm)).To(Succeed())
		eventuallyGoneFromDR(ctx, drNS, "settings", &corev1.ConfigMap{})

		Expect(testutil.CollectAndCount(metrics.PropagationLag)).To(BeNumerically(">=", 1), "propagation lag is observed")
		Expect(testutil.ToFloat64(metrics.LastSyncTimestamp.WithLabelValues(cr.Name, harness.RemoteClusterName))).To(BeNumerically(">", 0))
		Eventually(func(g Gomega) {
			st := crStatus(ctx, cr.Name)
			g.Expect(meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady)).To(BeTrue())
			g.Expect(st.LastSyncTime).NotTo(BeNil())
			g.Expect(st.Targets).To(HaveLen(1))
			g.Expect(st.Targets[0].Namespaces).To(Equal([]string{drNS}))
			g.Expect(st.Targets[0].Synced).To(BeNumerically(">=", 2))
			g.Expect(st.Targets[0].Failed).To(BeZero())
		}).WithTimeout(wait).Should(Succeed())
	})

	It("keeps a DR copy whose source is deleted under deletionPolicy Retain", func(ctx context.Context) {
		ns, _, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) { cr.Spec.DeletionPolicy = v1alpha1.DeletionRetain })
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "keep"}}
		Expect(env.SourceClient.Create(ctx, cm)).To(Succeed())
		eventuallyOnDR(ctx, drNS, "keep", &corev1.ConfigMap{})
		Expect(env.SourceClient.Delete(ctx, cm)).To(Succeed())
		Consistently(func() error { return drGet(ctx, drNS, "keep", &corev1.ConfigMap{}) }).WithTimeout(2 * time.Second).Should(Succeed())
	})

	It("corrects an edit on DR under Correct, with the event and the metric", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, nil)
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "c"}, Data: map[string]string{"k": "source"}})).To(Succeed())
		var drCM corev1.ConfigMap
		eventuallyOnDR(ctx, drNS, "c", &drCM)
		drift := metrics.DriftDetected.WithLabelValues(cr.Name, harness.RemoteClusterName, "ConfigMap")
		before := testutil.ToFloat64(drift)

		drCM.Data["k"] = "edited-on-dr"
		Expect(env.DRClient.Update(ctx, &drCM)).To(Succeed())
		Eventually(func() string {
			_ = drGet(ctx, drNS, "c", &drCM)
			return drCM.Data["k"]
		}).WithTimeout(wait).WithPolling(tick).Should(Equal("source"))
		Expect(testutil.ToFloat64(drift)).To(BeNumerically(">", before))
		Eventually(func() bool { return hasEvent(ctx, cr.Name, v1alpha1.ReasonDriftDetected) }).WithTimeout(wait).Should(BeTrue())

		By("a copy deleted on DR is recreated")
		Expect(env.DRClient.Delete(ctx, &drCM)).To(Succeed())
		eventuallyOnDR(ctx, drNS, "c", &corev1.ConfigMap{})
	})

	It("only reports drift under Report", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) { cr.Spec.Drift.Policy = v1alpha1.DriftReport })
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "c"}, Data: map[string]string{"k": "source"}})).To(Succeed())
		var drCM corev1.ConfigMap
		eventuallyOnDR(ctx, drNS, "c", &drCM)
		drCM.Data["k"] = "edited-on-dr"
		Expect(env.DRClient.Update(ctx, &drCM)).To(Succeed())
		Eventually(func(g Gomega) {
			st := crStatus(ctx, cr.Name)
			g.Expect(meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionDrifted)).To(BeTrue())
			g.Expect(st.Targets[0].Drifted).To(BeNumerically(">=", 1))
			g.Expect(st.Targets[0].Problems).To(ContainElement(HaveField("Reason", "Drifted")))
		}).WithTimeout(wait).Should(Succeed())
		Expect(testutil.ToFloat64(metrics.DriftDetected.WithLabelValues(cr.Name, harness.RemoteClusterName, "ConfigMap"))).To(BeNumerically(">=", 1))
		Expect(hasEvent(ctx, cr.Name, v1alpha1.ReasonDriftDetected)).To(BeTrue())
		Consistently(func() string {
			_ = drGet(ctx, drNS, "c", &drCM)
			return drCM.Data["k"]
		}).WithTimeout(time.Second).Should(Equal("edited-on-dr"))
	})

	It("reports a pre-existing unmanaged object under Skip and takes it over under Adopt", func(ctx context.Context) {
		name := uniqueName("conflict")
		ns := createNamespace(ctx, "app", nil, map[string]string{keys.AnnotationReplicate: name})
		drNS := ns.Name + "-dr"
		Expect(env.DRClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: drNS}})).To(Succeed())
		Expect(env.DRClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: drNS, Name: "mine"}, Data: map[string]string{"owner": "dr-team"}})).To(Succeed())
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "mine"}, Data: map[string]string{"owner": "source"}})).To(Succeed())
		cr := clusterReplication(name, target(harness.RemoteClusterName, "{{.Namespace}}-dr"))
		Expect(env.SourceClient.Create(ctx, cr)).To(Succeed())
		Eventually(func(g Gomega) {
			st := crStatus(ctx, name)
			g.Expect(st.Targets).To(HaveLen(1))
			g.Expect(st.Targets[0].Conflicts).To(Equal(int32(1)))
			g.Expect(st.Targets[0].Problems).To(ContainElement(HaveField("Reason", "Conflict")))
		}).WithTimeout(wait).Should(Succeed())
		var drCM corev1.ConfigMap
		Expect(drGet(ctx, drNS, "mine", &drCM)).To(Succeed())
		Expect(drCM.Data["owner"]).To(Equal("dr-team"))

		updateCR(ctx, cr, func(cr *v1alpha1.ClusterReplication) { cr.Spec.ConflictPolicy = v1alpha1.ConflictAdopt })
		Eventually(func() string {
			_ = drGet(ctx, drNS, "mine", &drCM)
			return drCM.Data["owner"]
		}).WithTimeout(wait).WithPolling(tick).Should(Equal("source"))
		Expect(drCM.Labels).To(HaveKeyWithValue(keys.LabelManagedBy, keys.ManagedByValue))
	})

	It("labels and mirrors objects created before the opt-in", func(ctx context.Context) {
		name := uniqueName("late")
		ns := createNamespace(ctx, "app", nil, nil)
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "early"}})).To(Succeed())
		Expect(env.SourceClient.Create(ctx, clusterReplication(name, target(harness.RemoteClusterName, "{{.Namespace}}-dr")))).To(Succeed())
		ns.Annotations = map[string]string{keys.AnnotationReplicate: name}
		Expect(env.SourceClient.Update(ctx, ns)).To(Succeed())
		eventuallyOnDR(ctx, ns.Name+"-dr", "early", &corev1.ConfigMap{})
		var cm corev1.ConfigMap
		Expect(env.SourceClient.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "early"}, &cm)).To(Succeed())
		Expect(cm.Labels).To(HaveKeyWithValue(keys.LabelReplication, name))
	})

	It("fans out to two targets and keeps syncing one while the other is unreachable", func(ctx context.Context) {
		bad := uniqueName("down")
		registerRemote(ctx, bad, kubeconfigData([]byte(unreachableKubeconfig)), v1alpha1.RemoteClusterSpec{})
		second := uniqueName("dr2")
		kc, err := harness.IdentityKubeconfig(ctx, env.DRConfig)
		Expect(err).NotTo(HaveOccurred())
		registerRemote(ctx, second, kubeconfigData(kc), v1alpha1.RemoteClusterSpec{})

		ns, cr, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) {
			cr.Spec.Targets = append(cr.Spec.Targets, target(second, "{{.Namespace}}-dr2"), target(bad, ""))
		})
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "fan"}})).To(Succeed())
		eventuallyOnDR(ctx, drNS, "fan", &corev1.ConfigMap{})
		eventuallyOnDR(ctx, ns.Name+"-dr2", "fan", &corev1.ConfigMap{})
		Eventually(func(g Gomega) {
			st := crStatus(ctx, cr.Name)
			c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(v1alpha1.ReasonTargetUnavailable))
			g.Expect(c.Message).To(ContainSubstring(bad))
			g.Expect(st.Targets).To(HaveLen(3))
			for _, ts := range st.Targets {
				if ts.Cluster == bad {
					g.Expect(ts.Problems).To(ContainElement(HaveField("Reason", "Unavailable")))
				} else {
					g.Expect(ts.Synced).To(BeNumerically(">=", 1))
					g.Expect(ts.LastSyncTime).NotTo(BeNil())
				}
			}
		}).WithTimeout(wait).Should(Succeed())
	})

	It("stops writing while suspended", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, nil)
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "a"}})).To(Succeed())
		eventuallyOnDR(ctx, drNS, "a", &corev1.ConfigMap{})
		setSuspend(ctx, cr, true)
		Eventually(func() string {
			c := meta.FindStatusCondition(crStatus(ctx, cr.Name).Conditions, v1alpha1.ConditionReady)
			if c == nil {
				return ""
			}
			return c.Reason
		}).WithTimeout(wait).Should(Equal(v1alpha1.ReasonSuspended))
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "b"}})).To(Succeed())
		Consistently(func() bool { return apierrors.IsNotFound(drGet(ctx, drNS, "b", &corev1.ConfigMap{})) }).WithTimeout(2 * time.Second).Should(BeTrue())
		setSuspend(ctx, cr, false)
		eventuallyOnDR(ctx, drNS, "b", &corev1.ConfigMap{})
	})

	It("runs a Manual replication once per request value", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) { cr.Spec.Mode = v1alpha1.ModeManual })
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "m"}})).To(Succeed())
		Consistently(func() bool { return apierrors.IsNotFound(drGet(ctx, drNS, "m", &corev1.ConfigMap{})) }).WithTimeout(2 * time.Second).Should(BeTrue())

		request := func(v string) {
			updateCR(ctx, cr, func(cr *v1alpha1.ClusterReplication) {
				cr.Annotations = map[string]string{keys.AnnotationSyncRequestedAt: v}
			})
		}
		request("1")
		eventuallyOnDR(ctx, drNS, "m", &corev1.ConfigMap{})
		Eventually(func() string { return crStatus(ctx, cr.Name).LastHandledSyncRequest }).WithTimeout(wait).Should(Equal("1"))

		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "n"}})).To(Succeed())
		Consistently(func() bool { return apierrors.IsNotFound(drGet(ctx, drNS, "n", &corev1.ConfigMap{})) }).WithTimeout(2*time.Second).Should(BeTrue(), "the same request value runs no second pass")
		request("2")
		eventuallyOnDR(ctx, drNS, "n", &corev1.ConfigMap{})
	})

	It("issues zero writes on an unchanged pass", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, nil)
		for _, n := range []string{"a", "b", "c"} {
			Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: n}, Data: map[string]string{"k": n}})).To(Succeed())
		}
		Expect(env.SourceClient.Create(ctx, deployment(ns.Name, "d", 2))).To(Succeed())
		eventuallyOnDR(ctx, drNS, "d", &appsv1.Deployment{})
		unchanged := metrics.MirrorActions.WithLabelValues(cr.Name, harness.RemoteClusterName, "ConfigMap", "Unchanged")
		// Settled: a pass has accounted for all four copies.
		Eventually(func(g Gomega) {
			st := crStatus(ctx, cr.Name)
			g.Expect(st.Targets).To(HaveLen(1))
			g.Expect(st.Targets[0].Synced).To(Equal(int32(4)))
		}).WithTimeout(wait).WithPolling(tick).Should(Succeed())
		versions := func() map[string]string {
			out := map[string]string{}
			var cms corev1.ConfigMapList
			Expect(env.DRClient.List(ctx, &cms, client.InNamespace(drNS))).To(Succeed())
			for _, c := range cms.Items {
				out["cm/"+c.Name] = c.ResourceVersion
			}
			var deps appsv1.DeploymentList
			Expect(env.DRClient.List(ctx, &deps, client.InNamespace(drNS))).To(Succeed())
			for _, d := range deps.Items {
				out["deploy/"+d.Name] = d.ResourceVersion
			}
			return out
		}
		before := versions()
		Expect(before).To(HaveLen(4)) // 3 ConfigMaps and the Deployment (envtest has no kube-root-ca.crt publisher)
		seen := testutil.ToFloat64(unchanged)
		// Force full passes: an annotation change on the replication triggers one each time.
		for i := range 3 {
			updateCR(ctx, cr, func(cr *v1alpha1.ClusterReplication) {
				cr.Annotations = map[string]string{"touch": string(rune('a' + i))}
			})
		}
		Eventually(func() float64 { return testutil.ToFloat64(unchanged) }).WithTimeout(wait).Should(BeNumerically(">=", seen+3))
		Expect(versions()).To(Equal(before), "no DR object was written")
	})
})

// updateCR re-reads and updates a ClusterReplication until no status write races it.
func updateCR(ctx context.Context, cr *v1alpha1.ClusterReplication, mut func(*v1alpha1.ClusterReplication)) {
	GinkgoHelper()
	Eventually(func() error {
		if err := env.SourceClient.Get(ctx, client.ObjectKeyFromObject(cr), cr); err != nil {
			return err
		}
		mut(cr)
		return env.SourceClient.Update(ctx, cr)
	}).WithTimeout(wait).Should(Succeed())
}

func setSuspend(ctx context.Context, cr *v1alpha1.ClusterReplication, suspend bool) {
	GinkgoHelper()
	updateCR(ctx, cr, func(cr *v1alpha1.ClusterReplication) { cr.Spec.Suspend = suspend })
}

func deployment(ns, name string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1.27"}}},
			},
		},
	}
}

var _ = Describe("Custom resources", Label("skew"), func() {
	It("are mirrored once their CRD exists on DR, and fail per object until then", func(ctx context.Context) {
		crd := widgetCRD()
		Expect(env.SourceClient.Create(ctx, crd.DeepCopy())).To(Succeed())
		ns, cr, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) {
			cr.Spec.Resources.Include = []v1alpha1.GroupKind{{Kind: "ConfigMap"}, {Group: "example.com", Kind: "Widget"}}
		})
		widget := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "example.com/v1", "kind": "Widget",
			"metadata": map[string]any{"name": "gizmo", "namespace": ns.Name, "labels": map[string]any{keys.LabelReplication: cr.Name}},
			"spec":     map[string]any{"size": "large"},
		}}
		Eventually(func() error { return env.SourceClient.Create(ctx, widget) }).WithTimeout(wait).Should(Succeed())
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "plain"}})).To(Succeed())

		By("the ConfigMap syncs while the Widget fails: its CRD is missing on DR")
		eventuallyOnDR(ctx, drNS, "plain", &corev1.ConfigMap{})
		Eventually(func(g Gomega) {
			st := crStatus(ctx, cr.Name)
			g.Expect(st.Targets).To(HaveLen(1))
			g.Expect(st.Targets[0].Failed).To(Equal(int32(1)))
			g.Expect(st.Targets[0].Problems).To(ContainElement(And(HaveField("Kind", "Widget"), HaveField("Message", ContainSubstring("CRD")))))
		}).WithTimeout(wait).Should(Succeed())

		By("the CRD appears on DR and the Widget follows")
		Expect(env.DRClient.Create(ctx, crd.DeepCopy())).To(Succeed())
		drWidget := &unstructured.Unstructured{}
		drWidget.SetGroupVersionKind(widget.GroupVersionKind())
		Eventually(func() error { return drGet(ctx, drNS, "gizmo", drWidget) }).WithTimeout(wait).WithPolling(tick).Should(Succeed())
		Expect(drWidget.Object["spec"]).To(Equal(map[string]any{"size": "large"}))
	})
})

var _ = Describe("Tenant Replication", func() {
	It("mirrors its own namespace to an allowing RemoteCluster", func(ctx context.Context) {
		ns := createNamespace(ctx, "tenant", tenantLabels, nil)
		r := replication(ns.Name, "mine", target(harness.RemoteClusterName, ""))
		r.Spec.Workloads.Replicas = ptrIntOrString(intstr.FromString(v1alpha1.ReplicasPreserve))
		Expect(env.SourceClient.Create(ctx, r)).To(Succeed())
		Eventually(func() error { return env.SourceClient.Create(ctx, deployment(ns.Name, "api", 2)) }).WithTimeout(wait).Should(Succeed())
		var d appsv1.Deployment
		eventuallyOnDR(ctx, ns.Name, "api", &d)
		Expect(*d.Spec.Replicas).To(Equal(int32(2)), "replicas Preserve keeps the source count")
		Eventually(func(g Gomega) {
			var got v1alpha1.Replication
			g.Expect(env.SourceClient.Get(ctx, client.ObjectKeyFromObject(r), &got)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue())
		}).WithTimeout(wait).Should(Succeed())
	})
})

func ptrIntOrString(v intstr.IntOrString) *intstr.IntOrString { return &v }

func widgetCRD() *apiextensionsv1.CustomResourceDefinition {
	return harness.ExampleCRD("widget", "Widget")
}

var _ = Describe("Scheduled replication", func() {
	It("syncs when the schedule comes due on the controller's clock, and shows the next sync", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) {
			cr.Spec.Mode = v1alpha1.ModeScheduled
			cr.Spec.Schedule = "0 0 1 1 *" // once a year: never due during the test unless the clock moves
		})
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "first"}})).To(Succeed())
		By("the first pass runs at once, since it never synced")
		Eventually(func(g Gomega) {
			st := crStatus(ctx, cr.Name)
			g.Expect(st.LastSyncTime).NotTo(BeNil())
			g.Expect(st.Targets).To(HaveLen(1))
			g.Expect(st.Targets[0].NextSyncTime).NotTo(BeNil())
			g.Expect(st.Targets[0].NextSyncTime.Month()).To(Equal(time.January))
		}).WithTimeout(wait).Should(Succeed())

		By("a change waits for the schedule")
		Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "later"}})).To(Succeed())
		Consistently(func() bool { return apierrors.IsNotFound(drGet(ctx, drNS, "later", &corev1.ConfigMap{})) }).WithTimeout(2 * time.Second).Should(BeTrue())

		By("a year later on the controller's clock, the next look runs the pass")
		env.Advance(366 * 24 * time.Hour)
		updateCR(ctx, cr, func(cr *v1alpha1.ClusterReplication) { cr.Annotations = map[string]string{"look": "now"} })
		eventuallyOnDR(ctx, drNS, "later", &corev1.ConfigMap{})
	})
})

var _ = Describe("Field ownership", func() {
	It("drops on DR what the source dropped, also for copies created with a plain create", func(ctx context.Context) {
		ns, _, drNS := optIn(ctx, nil)
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "owned",
			Labels: map[string]string{"keep": "1", "drop": "2"}, Annotations: map[string]string{"note": "x"}},
			Data: map[string]string{"a": "1", "b": "2"}}
		Expect(env.SourceClient.Create(ctx, cm)).To(Succeed())
		var drCM corev1.ConfigMap
		eventuallyOnDR(ctx, drNS, "owned", &drCM)
		Expect(drCM.Labels).To(HaveKey("drop"))

		Expect(env.SourceClient.Get(ctx, client.ObjectKeyFromObject(cm), cm)).To(Succeed())
		delete(cm.Labels, "drop")
		delete(cm.Annotations, "note")
		delete(cm.Data, "b")
		Expect(env.SourceClient.Update(ctx, cm)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(drGet(ctx, drNS, "owned", &drCM)).To(Succeed())
			g.Expect(drCM.Labels).NotTo(HaveKey("drop"))
			g.Expect(drCM.Labels).To(HaveKeyWithValue("keep", "1"))
			g.Expect(drCM.Annotations).NotTo(HaveKey("note"))
			g.Expect(drCM.Annotations).NotTo(HaveKey(keys.AnnotationOwnership))
			g.Expect(drCM.Data).To(Equal(map[string]string{"a": "1"}))
		}).WithTimeout(wait).WithPolling(tick).Should(Succeed())
		for _, mf := range drCM.ManagedFields {
			if mf.Manager == "dr-syncer" {
				Expect(mf.Operation).To(Equal(metav1.ManagedFieldsOperationApply), "dr-syncer owns its fields by apply")
			}
		}
	})
})

var _ = Describe("Mass-delete breaker", func() {
	It("refuses to delete most of a target at once and says so", func(ctx context.Context) {
		ns, cr, drNS := optIn(ctx, nil) // deletionPolicy Delete; the harness allows 50 % or 10 per pass
		for i := range 24 {
			Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "cm-" + strconv.Itoa(i)}})).To(Succeed())
		}
		Eventually(func() int {
			var l corev1.ConfigMapList
			_ = env.DRClient.List(ctx, &l, client.InNamespace(drNS))
			return len(l.Items)
		}).WithTimeout(wait).Should(Equal(24))

		By("deleting all 24 sources stalls the prune")
		Expect(env.SourceClient.DeleteAllOf(ctx, &corev1.ConfigMap{}, client.InNamespace(ns.Name))).To(Succeed())
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(crStatus(ctx, cr.Name).Conditions, v1alpha1.ConditionStalled)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal(v1alpha1.ReasonMassDeleteBlocked))
			g.Expect(c.Message).To(ContainSubstring("more than the mass-delete limit"))
		}).WithTimeout(wait).Should(Succeed())
		// Deletes seen in the first passes may go through while, counted over the drift interval,
		// they stay within the minimum (10) or the fraction (50 % of the 24): however the deletes
		// trickle in, no more than 12 go, and the rest is kept.
		var l corev1.ConfigMapList
		Expect(env.DRClient.List(ctx, &l, client.InNamespace(drNS))).To(Succeed())
		Expect(len(l.Items)).To(BeNumerically(">=", 12), "at most the mass-delete fraction deleted within the interval")
		Expect(hasEvent(ctx, cr.Name, v1alpha1.ReasonMassDeleteBlocked)).To(BeTrue())
	})
})

var _ = Describe("GitOps tracking metadata", func() {
	It("is dropped from copies, so that the same tools on DR leave them alone, unless a target keeps it", func(ctx context.Context) {
		tracked := map[string]string{"argocd.argoproj.io/instance": "shop-prod", "kustomize.toolkit.fluxcd.io/name": "apps"}
		mirrored := func(keep bool) corev1.ConfigMap {
			ns, _, drNS := optIn(ctx, func(cr *v1alpha1.ClusterReplication) {
				cr.Spec.Targets[0].Transforms = &v1alpha1.Transforms{KeepTrackingMetadata: keep}
			})
			Expect(env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "tracked",
				Labels:      map[string]string{"argocd.argoproj.io/instance": "shop-prod", "kustomize.toolkit.fluxcd.io/name": "apps", "app": "web"},
				Annotations: map[string]string{"meta.helm.sh/release-name": "web", "argocd.argoproj.io/tracking-id": "shop-prod:/ConfigMap:x/tracked"}}})).To(Succeed())
			var copied corev1.ConfigMap
			eventuallyOnDR(ctx, drNS, "tracked", &copied)
			return copied
		}
		dropped, kept := mirrored(false), mirrored(true)
		for k, v := range tracked {
			Expect(dropped.Labels).NotTo(HaveKey(k))
			Expect(kept.Labels).To(HaveKeyWithValue(k, v))
		}
		Expect(dropped.Labels).To(HaveKeyWithValue("app", "web"))
		Expect(dropped.Annotations).NotTo(HaveKey("meta.helm.sh/release-name"))
		Expect(dropped.Annotations).NotTo(HaveKey("argocd.argoproj.io/tracking-id"))
		Expect(kept.Annotations).To(HaveKeyWithValue("meta.helm.sh/release-name", "web"))
	})
})
