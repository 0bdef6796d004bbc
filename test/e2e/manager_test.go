// Package e2e runs the manager binary (make build) as a real process against two control planes,
// the way the sandbox and a user run it.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/test/harness"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestManagerBinary(t *testing.T) {
	ctx := context.Background()
	logs := &syncBuffer{}
	env, mgr, err := harness.StartWithProcess(ctx, t.TempDir(), logs)
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
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e-app", Annotations: map[string]string{v1alpha1.AnnotationReplicate: "e2e"}}}
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
		if strings.Contains(logs.String(), "BEGIN") || strings.Contains(logs.String(), "client-key-data") {
			t.Error("logs contain key material")
		}
	})
}
