// Package e2e runs the manager binary (make build) as a real process against two control planes,
// the way the sandbox and a user run it.
package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/test/harness"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer = harness.LogBuffer

func TestManagerBinary(t *testing.T) {
	ctx := context.Background()
	logs := &syncBuffer{}
	// Developer verbosity: the secrets scan below reads everything the manager can log.
	env, mgr, err := harness.StartWithProcess(ctx, t.TempDir(), logs, "--log-level=4")
	if err != nil {
		t.Fatalf("%v\nlogs:\n%s", err, logs)
	}
	defer env.Stop()
	defer mgr.Stop()

	t.Run("webhooks reject an invalid replication with its field path", func(t *testing.T) {
		r := &v1alpha1.Replication{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "bad"},
			Spec: v1alpha1.ReplicationSpec{Targets: []v1alpha1.Target{{Cluster: "dr"}}, Mode: v1alpha1.ModeScheduled, Schedule: "61 * * * *"}}
		err := env.SourceClient.Create(ctx, r)
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.schedule") {
			t.Fatalf("want an Invalid error on spec.schedule, got %v", err)
		}
	})

	t.Run("a namespace opted in is mirrored", func(t *testing.T) {
		cr := &v1alpha1.ClusterReplication{ObjectMeta: metav1.ObjectMeta{Name: "e2e"},
			Spec: v1alpha1.ClusterReplicationSpec{ReplicationSpec: v1alpha1.ReplicationSpec{Targets: []v1alpha1.Target{{Cluster: "dr", Namespace: "{{.Namespace}}-dr"}}}}}
		if err := env.SourceClient.Create(ctx, cr); err != nil {
			t.Fatal(err)
		}
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e-app", Annotations: map[string]string{keys.AnnotationReplicate: "e2e"}}}
		if err := env.SourceClient.Create(ctx, ns); err != nil {
			t.Fatal(err)
		}
		if err := env.SourceClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "e2e-app", Name: "c"}, Data: map[string]string{"k": "v"}}); err != nil {
			t.Fatal(err)
		}
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			return env.DRClient.Get(ctx, client.ObjectKey{Namespace: "e2e-app-dr", Name: "c"}, &corev1.ConfigMap{}) == nil, nil
		})
		if err != nil {
			t.Fatalf("ConfigMap not mirrored: %v\nlogs:\n%s", err, logs)
		}
	})

	t.Run("metrics are served", func(t *testing.T) {
		text, err := mgr.Metrics()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"drsyncer_remotecluster_up{cluster=\"dr\"} 1", "drsyncer_mirror_actions_total", "controller_runtime_webhook_requests_total"} {
			if !strings.Contains(text, m) {
				t.Errorf("metrics lack %s", m)
			}
		}
	})

	secrets := leakCanaries(ctx, t, env, logs)

	t.Run("logs are JSON and carry no secrets", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		if len(lines) < 5 {
			t.Fatalf("too few log lines: %d", len(lines))
		}
		for _, l := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("not a JSON log line: %q", l)
			}
		}
		for _, s := range append(secrets, "BEGIN", "client-key-data") {
			if strings.Contains(logs.String(), s) {
				t.Errorf("logs contain %q", s)
			}
		}
	})

	t.Run("events and status carry no secrets", func(t *testing.T) {
		var texts []string
		var events eventsv1.EventList
		if err := env.SourceClient.List(ctx, &events); err != nil {
			t.Fatal(err)
		}
		for _, e := range events.Items {
			texts = append(texts, e.Note, e.Reason)
		}
		var rcs v1alpha1.RemoteClusterList
		if err := env.SourceClient.List(ctx, &rcs); err != nil {
			t.Fatal(err)
		}
		var crs v1alpha1.ClusterReplicationList
		if err := env.SourceClient.List(ctx, &crs); err != nil {
			t.Fatal(err)
		}
		for _, rc := range rcs.Items {
			b, _ := json.Marshal(rc.Status)
			texts = append(texts, string(b))
		}
		for _, cr := range crs.Items {
			b, _ := json.Marshal(cr.Status)
			texts = append(texts, string(b))
		}
		if len(events.Items) == 0 || len(rcs.Items) < 3 {
			t.Fatalf("nothing to scan: %d events, %d RemoteClusters", len(events.Items), len(rcs.Items))
		}
		all := strings.Join(texts, "\n")
		for _, s := range secrets {
			if strings.Contains(all, s) {
				t.Errorf("events or status contain %q", s)
			}
		}
	})
}

// leakCanaries mirrors Secrets whose values are unique strings and registers RemoteClusters whose
// failing kubeconfigs carry unique bearer tokens, waits until all of it has been processed (and
// logged), and returns the strings that must never appear in logs, events or status.
func leakCanaries(ctx context.Context, t *testing.T, env *harness.Env, logs fmt.Stringer) []string {
	t.Helper()
	value, token, badToken := "canary-secret-"+rand.Text(), "canary-token-"+rand.Text(), "canary-badtoken-"+rand.Text()
	canaries := []string{value, base64.StdEncoding.EncodeToString([]byte(value)), token, badToken}
	for i := range 20 {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "e2e-app", Name: fmt.Sprintf("creds-%02d", i)},
			StringData: map[string]string{"password": value, "token": token}}
		if err := env.SourceClient.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	unreachable := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: %q}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`, token)
	malformed := "apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: " + badToken + "\n  - broken: [\n"
	for name, kc := range map[string]string{"leaky-unreachable": unreachable, "leaky-malformed": malformed} {
		if err := env.RegisterRemoteCluster(ctx, name, map[string][]byte{v1alpha1.DefaultKubeconfigKey: []byte(kc)}, v1alpha1.RemoteClusterSpec{}); err != nil {
			t.Fatal(err)
		}
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		var copies corev1.SecretList
		if err := env.DRClient.List(ctx, &copies, client.InNamespace("e2e-app-dr")); err != nil || len(copies.Items) < 20 {
			return false, nil
		}
		for _, name := range []string{"leaky-unreachable", "leaky-malformed"} {
			var rc v1alpha1.RemoteCluster
			if err := env.SourceClient.Get(ctx, client.ObjectKey{Name: name}, &rc); err != nil {
				return false, nil
			}
			if c := meta.FindStatusCondition(rc.Status.Conditions, v1alpha1.ConditionReady); c == nil || c.Status != metav1.ConditionFalse {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("Secrets not mirrored or RemoteClusters not probed: %v\nlogs:\n%s", err, logs)
	}
	// A drifted Secret copy: corrected, with an event and log lines about it.
	var drifted corev1.Secret
	if err := env.DRClient.Get(ctx, client.ObjectKey{Namespace: "e2e-app-dr", Name: "creds-00"}, &drifted); err != nil {
		t.Fatal(err)
	}
	drifted.Data["password"] = []byte("edited-on-dr")
	if err := env.DRClient.Update(ctx, &drifted); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var s corev1.Secret
		return env.DRClient.Get(ctx, client.ObjectKeyFromObject(&drifted), &s) == nil && string(s.Data["password"]) == value, nil
	})
	if err != nil {
		t.Fatalf("drifted Secret not corrected: %v", err)
	}
	return canaries
}
