// Package plugin tests `kubectl drsyncer` against two real control planes: the in-process command
// for most checks, the built binary where a process matters (an interrupted promote, kubectl's
// plugin discovery).
package plugin

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/drsyncer/dr-syncer/cli"
	"github.com/drsyncer/dr-syncer/test/harness"
)

var (
	env *harness.Env
	// sourceProxy stands between the plugin and the source API server: stopping it is the source
	// cluster going away, as far as the plugin can tell.
	sourceProxy *harness.Proxy
	kubeconfig  string
)

func TestPlugin(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "kubectl drsyncer (two control planes)")
}

var _ = BeforeSuite(func(ctx context.Context) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	Expect(harness.PluginBinary()).To(BeAnExistingFile(), "run make build (make test does)")
	var err error
	env, err = harness.Start(ctx)
	Expect(err).NotTo(HaveOccurred())
	u, err := url.Parse(env.SourceConfig.Host)
	Expect(err).NotTo(HaveOccurred())
	sourceProxy, err = harness.NewProxy(u.Host)
	Expect(err).NotTo(HaveOccurred())
	kubeconfig = writeKubeconfig(GinkgoT().TempDir())
}, NodeTimeout(5*60e9))

var _ = AfterSuite(func() {
	if sourceProxy != nil {
		sourceProxy.Stop()
	}
	if env != nil {
		env.Stop()
	}
})

// writeKubeconfig writes a user's kubeconfig with two contexts: "source" (through the proxy, the
// current context) and "dr".
func writeKubeconfig(dir string) string {
	GinkgoHelper()
	kc, err := env.UserKubeconfig("operator", "https://"+sourceProxy.Addr)
	Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(dir, "kubeconfig")
	Expect(os.WriteFile(path, kc, 0o600)).To(Succeed())
	return path
}

// result is one run of the plugin.
type result struct {
	out, err string
	code     int
}

// drsyncer runs `kubectl drsyncer args...` in-process with the suite's kubeconfig and both contexts.
func drsyncer(ctx context.Context, args ...string) result {
	var out, errOut bytes.Buffer
	all := append([]string{"--kubeconfig", kubeconfig, "--source-context", "source", "--dr-context", "dr"}, args...)
	code := cli.Execute(ctx, all, &out, &errOut)
	GinkgoWriter.Printf("$ kubectl drsyncer %v → %d\n%s%s", args, code, out.String(), errOut.String())
	return result{out: out.String(), err: errOut.String(), code: code}
}
