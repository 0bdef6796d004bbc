// Package integration runs dr-syncer against two real control planes from the test harness.
package integration

import (
	"context"
	"sync"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/drsyncer/dr-syncer/manager"
	"github.com/drsyncer/dr-syncer/test/harness"
)

var (
	env *harness.Env
	// warned is a source client whose admission warnings are recorded in warnings.
	warned   client.Client
	warnings = &warningRecorder{}
)

func TestIntegration(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "dr-syncer integration (two control planes)")
}

var _ = BeforeSuite(func(ctx context.Context) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	var err error
	env, err = harness.Start(ctx)
	Expect(err).NotTo(HaveOccurred())
	cfg := rest.CopyConfig(env.SourceConfig)
	cfg.WarningHandler = warnings
	warned, err = client.New(cfg, client.Options{Scheme: manager.Scheme()})
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(5*60e9))

var _ = AfterSuite(func() {
	if env != nil {
		env.Stop()
	}
})

// warningRecorder keeps the admission warnings the API server returned.
type warningRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

// Take returns and clears the recorded warnings.
func (w *warningRecorder) Take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}
