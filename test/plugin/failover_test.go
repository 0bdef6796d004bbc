package plugin

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/test/harness"
)

const (
	wait = 30 * time.Second
	tick = 100 * time.Millisecond

	deployments, statefulSets, cronJobs = 100, 20, 20
	workloads                           = deployments + statefulSets + cronJobs
)

func podTemplate(app string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{{Name: "c", Image: "nginx:1.27"}}},
	}
}

// sourceReplicas is the replica count of Deployment i on the source: 1 to 3.
func sourceReplicas(i int) int32 { return int32(i%3 + 1) }

// createWorkloads creates the 140 workloads of the failover scenario in ns. CronJob job-00 is
// suspended on the source itself.
func createWorkloads(ctx context.Context, ns string) {
	GinkgoHelper()
	create := func(obj client.Object) {
		Eventually(func() error { return env.SourceClient.Create(ctx, obj) }).WithTimeout(wait).Should(Succeed())
	}
	for i := range deployments {
		name, n := fmt.Sprintf("web-%03d", i), sourceReplicas(i)
		create(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: appsv1.DeploymentSpec{
			Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}, Template: podTemplate(name)}})
	}
	for i := range statefulSets {
		name, n := fmt.Sprintf("db-%02d", i), int32(2)
		create(&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: appsv1.StatefulSetSpec{
			Replicas: &n, ServiceName: name, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}, Template: podTemplate(name)}})
	}
	for i := range cronJobs {
		name, suspended := fmt.Sprintf("job-%02d", i), i == 0
		tmpl := podTemplate(name)
		tmpl.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		create(&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: batchv1.CronJobSpec{
			Schedule: "*/5 * * * *", Suspend: &suspended, JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}}})
	}
}

// drWorkloads reads the workload copies in the DR namespace.
func drWorkloads(ctx context.Context, ns string) (*appsv1.DeploymentList, *appsv1.StatefulSetList, *batchv1.CronJobList) {
	GinkgoHelper()
	var d appsv1.DeploymentList
	var s appsv1.StatefulSetList
	var c batchv1.CronJobList
	Expect(env.DRClient.List(ctx, &d, client.InNamespace(ns))).To(Succeed())
	Expect(env.DRClient.List(ctx, &s, client.InNamespace(ns))).To(Succeed())
	Expect(env.DRClient.List(ctx, &c, client.InNamespace(ns))).To(Succeed())
	return &d, &s, &c
}

// workloadCopies are the workload copies in the DR namespace, as one list.
func workloadCopies(ctx context.Context, ns string) []client.Object {
	GinkgoHelper()
	d, s, c := drWorkloads(ctx, ns)
	var objs []client.Object
	for i := range d.Items {
		objs = append(objs, &d.Items[i])
	}
	for i := range s.Items {
		objs = append(objs, &s.Items[i])
	}
	for i := range c.Items {
		objs = append(objs, &c.Items[i])
	}
	return objs
}

func versionKey(o client.Object) string { return fmt.Sprintf("%T/%s", o, o.GetName()) }

// promotedVersions maps every promoted workload copy to its resourceVersion.
func promotedVersions(ctx context.Context, ns string) map[string]string {
	GinkgoHelper()
	out := map[string]string{}
	for _, o := range workloadCopies(ctx, ns) {
		if _, ok := o.GetAnnotations()[keys.AnnotationPromoted]; ok {
			out[versionKey(o)] = o.GetResourceVersion()
		}
	}
	return out
}

// expectServing checks every workload copy runs as its source does.
func expectServing(ctx context.Context, ns string) {
	GinkgoHelper()
	d, s, c := drWorkloads(ctx, ns)
	Expect(d.Items).To(HaveLen(deployments))
	for _, x := range d.Items {
		i, _ := strconv.Atoi(strings.TrimPrefix(x.Name, "web-"))
		Expect(*x.Spec.Replicas).To(Equal(sourceReplicas(i)), x.Name)
		Expect(x.Annotations).To(HaveKey(keys.AnnotationPromoted), x.Name)
	}
	Expect(s.Items).To(HaveLen(statefulSets))
	for _, x := range s.Items {
		Expect(*x.Spec.Replicas).To(Equal(int32(2)), x.Name)
	}
	Expect(c.Items).To(HaveLen(cronJobs))
	for _, x := range c.Items {
		Expect(*x.Spec.Suspend).To(Equal(x.Name == "job-00"), x.Name+": suspended only where the source is")
	}
}

// expectStandby checks every workload copy is back on standby, without marks.
func expectStandby(ctx context.Context, ns string) {
	GinkgoHelper()
	d, s, c := drWorkloads(ctx, ns)
	for _, x := range d.Items {
		Expect(*x.Spec.Replicas).To(BeZero(), x.Name)
		Expect(x.Annotations).NotTo(HaveKey(keys.AnnotationPromoted), x.Name)
		Expect(x.Annotations).NotTo(HaveKey(keys.AnnotationStandbyState), x.Name)
	}
	for _, x := range s.Items {
		Expect(*x.Spec.Replicas).To(BeZero(), x.Name)
	}
	for _, x := range c.Items {
		Expect(*x.Spec.Suspend).To(BeTrue(), x.Name)
	}
}

var reportTime = regexp.MustCompile(`finished in (\S+) `)

var _ = Describe("Failover with promote and demote", Ordered, func() {
	const name = "fleet"
	ns, drNS := "fleet", "fleet-dr"

	BeforeAll(func(ctx context.Context) {
		Expect(env.SourceClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
			Annotations: map[string]string{keys.AnnotationReplicate: name}}})).To(Succeed())
		cr := &v1alpha1.ClusterReplication{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.ClusterReplicationSpec{
			ReplicationSpec: v1alpha1.ReplicationSpec{Targets: []v1alpha1.Target{{Cluster: harness.RemoteClusterName, Namespace: "{{.Namespace}}-dr"}}}}}
		Expect(env.SourceClient.Create(ctx, cr)).To(Succeed())
		createWorkloads(ctx, ns)
		Eventually(func(g Gomega) {
			d, s, c := drWorkloads(ctx, drNS)
			g.Expect(len(d.Items) + len(s.Items) + len(c.Items)).To(Equal(workloads))
		}).WithTimeout(60 * time.Second).WithPolling(time.Second).Should(Succeed())
		expectStandby(ctx, drNS)
	})

	It("prints the plan with --dry-run and changes nothing", func(ctx context.Context) {
		before := allVersions(ctx, drNS)
		r := drsyncer(ctx, "promote", name, "--target", "dr", "--dry-run")
		Expect(r.code).To(BeZero(), r.err)
		Expect(r.out).To(ContainSubstring("dry run"))
		Expect(r.out).To(ContainSubstring("DR Deployment fleet-dr/web-002: replicas 0 → 3"))
		Expect(r.out).To(ContainSubstring("DR CronJob fleet-dr/job-01: suspend true → false"))
		Expect(r.out).To(ContainSubstring("DR CronJob fleet-dr/job-00: marked promoted"))
		Expect(r.out).To(ContainSubstring("would be fenced"))
		Expect(r.out).To(ContainSubstring(fmt.Sprintf("%d DR copies to change", workloads)))
		Expect(allVersions(ctx, drNS)).To(Equal(before))
	})

	It("promotes with the source cluster gone, resumes after an interruption without double work", func(ctx context.Context) {
		By("the source cluster goes away: its API server unreachable, dr-syncer with it")
		env.StopManager()
		sourceProxy.Stop()

		By("a promote killed halfway (the binary, slowed to 20 requests/s)")
		cmd := exec.Command(harness.PluginBinary(), "--kubeconfig", kubeconfig, "--source-context", "source", "--dr-context", "dr",
			"--qps", "20", "--source-timeout", "2s", "promote", name, "--target", "dr")
		stderr, err := cmd.StderrPipe()
		Expect(err).NotTo(HaveOccurred())
		Expect(cmd.Start()).To(Succeed())
		progress := regexp.MustCompile(`promoting fleet: (\d+)/`)
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			GinkgoWriter.Println(lines.Text())
			if m := progress.FindStringSubmatch(lines.Text()); m != nil {
				if n, _ := strconv.Atoi(m[1]); n >= workloads/3 {
					break
				}
			}
		}
		Expect(cmd.Process.Kill()).To(Succeed())
		_ = cmd.Wait()
		done := promotedVersions(ctx, drNS)
		Expect(len(done)).To(And(BeNumerically(">", 0), BeNumerically("<", workloads)), "the kill left the promotion halfway")

		By("promote again: only the rest is changed")
		r := drsyncer(ctx, "--source-timeout", "2s", "promote", name, "--target", "dr")
		Expect(r.code).To(BeZero(), r.err)
		Expect(r.out).To(ContainSubstring("NOT fenced: the source cluster does not answer"))
		Expect(r.out).To(ContainSubstring(fmt.Sprintf("%d DR copies changed, %d already done, 0 failed", workloads-len(done), len(done))))
		after := promotedVersions(ctx, drNS)
		Expect(after).To(HaveLen(workloads))
		for k, v := range done {
			Expect(after[k]).To(Equal(v), k+" was promoted by the first run and must not be written again")
		}
		expectServing(ctx, drNS)
	})

	It("keeps the promoted copies when the source returns, and fences the replication", func(ctx context.Context) {
		By("the source and dr-syncer come back")
		Expect(sourceProxy.Start()).To(Succeed())
		Expect(env.StartManager(ctx)).To(Succeed())
		Eventually(func(g Gomega) {
			var cr v1alpha1.ClusterReplication
			g.Expect(env.SourceClient.Get(ctx, client.ObjectKey{Name: name}, &cr)).To(Succeed())
			g.Expect(cr.Status.Targets).To(HaveLen(1))
			g.Expect(cr.Status.Targets[0].Promoted).To(Equal(int32(workloads)))
		}).WithTimeout(wait).WithPolling(tick).Should(Succeed())
		expectServing(ctx, drNS) // dr-syncer did not scale the promoted copies back to zero

		By("promote again, now fencing the replication and the source workloads")
		r := drsyncer(ctx, "promote", name, "--target", "dr", "--fence-source")
		Expect(r.code).To(BeZero(), r.err)
		Expect(r.out).To(ContainSubstring("fenced: ClusterReplication fleet suspended"))
		Expect(r.out).To(ContainSubstring(fmt.Sprintf("0 DR copies changed, %d already done", workloads)))
		var cr v1alpha1.ClusterReplication
		Expect(env.SourceClient.Get(ctx, client.ObjectKey{Name: name}, &cr)).To(Succeed())
		Expect(cr.Spec.Suspend).To(BeTrue())
		Expect(cr.Annotations).To(HaveKey(keys.AnnotationFenced))
		var web appsv1.Deployment
		Expect(env.SourceClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-002"}, &web)).To(Succeed())
		Expect(*web.Spec.Replicas).To(BeZero(), "the source workload is fenced")
		Expect(web.Annotations).To(HaveKey(keys.AnnotationFencedState))
	})

	It("demotes back to standby, unfences the source and resumes mirroring", func(ctx context.Context) {
		before := allVersions(ctx, drNS)
		r := drsyncer(ctx, "demote", name, "--target", "dr", "--dry-run")
		Expect(r.code).To(BeZero(), r.err)
		Expect(r.out).To(ContainSubstring("DR Deployment fleet-dr/web-002: replicas 3 → 0"))
		Expect(r.out).To(ContainSubstring("source Deployment fleet/web-002: replicas 0 → 3"))
		Expect(allVersions(ctx, drNS)).To(Equal(before), "a dry run writes nothing")

		r = drsyncer(ctx, "demote", name, "--target", "dr")
		Expect(r.code).To(BeZero(), r.err)
		Expect(r.out).To(ContainSubstring("resumed"))
		expectStandby(ctx, drNS)
		var web appsv1.Deployment
		Expect(env.SourceClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-002"}, &web)).To(Succeed())
		Expect(*web.Spec.Replicas).To(Equal(int32(3)), "the source workload got its replicas back")
		Expect(web.Annotations).NotTo(HaveKey(keys.AnnotationFencedState))

		By("mirroring resumes: a source change reaches DR, promoted counts are gone")
		web.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
		Expect(env.SourceClient.Update(ctx, &web)).To(Succeed())
		Eventually(func(g Gomega) {
			var d appsv1.Deployment
			g.Expect(env.DRClient.Get(ctx, client.ObjectKey{Namespace: drNS, Name: "web-002"}, &d)).To(Succeed())
			g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal("nginx:1.28"))
			g.Expect(*d.Spec.Replicas).To(BeZero())
			g.Expect(d.Annotations[keys.AnnotationSourceReplicas]).To(Equal("3"))
		}).WithTimeout(wait).WithPolling(tick).Should(Succeed())
		Eventually(func(g Gomega) {
			var cr v1alpha1.ClusterReplication
			g.Expect(env.SourceClient.Get(ctx, client.ObjectKey{Name: name}, &cr)).To(Succeed())
			g.Expect(cr.Spec.Suspend).To(BeFalse())
			g.Expect(cr.Status.Targets).To(HaveLen(1))
			g.Expect(cr.Status.Targets[0].Promoted).To(BeZero())
		}).WithTimeout(wait).WithPolling(tick).Should(Succeed())
	})

	It("measures a full promote of the 140 workloads, then returns to standby", func(ctx context.Context) {
		r := drsyncer(ctx, "promote", name, "--target", "dr")
		Expect(r.code).To(BeZero(), r.err)
		Expect(r.out).To(ContainSubstring(fmt.Sprintf("%d DR copies changed, 0 already done", workloads)))
		m := reportTime.FindStringSubmatch(r.out)
		Expect(m).NotTo(BeNil())
		AddReportEntry("promote time for 140 workloads (API side)", m[1])
		expectServing(ctx, drNS)
		r = drsyncer(ctx, "demote", name, "--target", "dr")
		Expect(r.code).To(BeZero(), r.err)
		expectStandby(ctx, drNS)
	})
})

// allVersions maps every object in a DR namespace (of the kinds the scenario uses) to its version.
func allVersions(ctx context.Context, ns string) map[string]string {
	GinkgoHelper()
	out := map[string]string{}
	for _, o := range workloadCopies(ctx, ns) {
		out[versionKey(o)] = o.GetResourceVersion()
	}
	var cms corev1.ConfigMapList
	Expect(env.DRClient.List(ctx, &cms, client.InNamespace(ns))).To(Succeed())
	for i := range cms.Items {
		out[versionKey(&cms.Items[i])] = cms.Items[i].ResourceVersion
	}
	return out
}
