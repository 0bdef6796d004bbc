package e2e

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/test/harness"
)

// TestLeaderFailover runs two managers with leader election: only the leader writes; when it is
// SIGKILLed the other takes over within the lease duration and mirrors what changed meanwhile.
func TestLeaderFailover(t *testing.T) {
	ctx := context.Background()
	logsA, logsB := &syncBuffer{}, &syncBuffer{}
	env, a, err := harness.StartWithProcess(ctx, t.TempDir(), logsA)
	if err != nil {
		t.Fatalf("%v\nlogs:\n%s", err, logsA)
	}
	defer env.Stop()
	defer a.Stop()
	// A was started without leader election by the harness; restart it as a candidate.
	a.Stop()
	dirA := t.TempDir()
	a, err = env.StartManagerProcess(ctx, harness.ManagerBinary(), dirA, logsA, "--leader-elect=true")
	must(t, err)
	defer a.Stop()
	if err := waitLeader(logsA); err != nil {
		t.Fatalf("no leader: %v\nlogs:\n%s", err, logsA)
	}

	// B serves its webhooks on another port (it registers them, so from now on it answers them).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	portB := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	b, err := env.StartManagerProcess(ctx, harness.ManagerBinary(), t.TempDir(), logsB, "--leader-elect=true",
		"--webhook-port="+strconv.Itoa(portB), "--cert-dir="+filepath.Join(t.TempDir(), "certs"))
	if err != nil {
		t.Fatalf("%v\nlogs B:\n%s", err, logsB)
	}
	defer b.Stop()

	must(t, env.SourceClient.Create(ctx, &v1alpha1.ClusterReplication{ObjectMeta: metav1.ObjectMeta{Name: "ha"},
		Spec: v1alpha1.ClusterReplicationSpec{ReplicationSpec: v1alpha1.ReplicationSpec{Targets: []v1alpha1.Target{{Cluster: "dr"}}}}}))
	must(t, env.SourceClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ha",
		Annotations: map[string]string{keys.AnnotationReplicate: "ha"}}}))
	must(t, env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ha", Name: "one"}}))
	waitOnDR(t, env, "ha", "one")

	writes := func(p *harness.Process) float64 {
		text, err := p.Metrics()
		if err != nil {
			return -1
		}
		return harness.SumMetric(text, "drsyncer_mirror_actions_total", `action="Create"`) +
			harness.SumMetric(text, "drsyncer_mirror_actions_total", `action="Update"`)
	}
	// The copy shows on DR a moment before the leader's pass counts its write: wait for the count.
	_ = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return writes(a) >= 1, nil
	})
	if wa, wb := writes(a), writes(b); wa < 1 || wb != 0 {
		t.Fatalf("only the leader may write: leader %v writes, follower %v", wa, wb)
	}

	start := time.Now()
	a.Kill()
	must(t, env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ha", Name: "two"}}))
	waitOnDR(t, env, "ha", "two")
	t.Logf("the follower took over and mirrored within %s", time.Since(start).Round(time.Second))
	if took := time.Since(start); took > 40*time.Second {
		t.Fatalf("took over after %s, more than the lease duration allows", took)
	}
	if writes(b) < 1 {
		t.Fatal("the new leader wrote nothing")
	}
}

func waitLeader(logs *syncBuffer) error {
	return wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return strings.Contains(strings.ToLower(logs.String()), "successfully acquired lease"), nil
	})
}

func waitOnDR(t *testing.T, env *harness.Env, ns, name string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		return env.DRClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &corev1.ConfigMap{}) == nil, nil
	})
	if err != nil {
		t.Fatalf("%s/%s not on DR: %v", ns, name, err)
	}
}
