// Package plugin tests `kubectl drsyncer` against two real control planes: the in-process command
// for most checks, the built binary where a process matters (an interrupted promote, kubectl's
// plugin discovery).
package plugin

import (
	"bytes"
	"context"
	"net/url"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
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
	cfg := clientcmdapi.NewConfig()
	add := func(name string, kc []byte, server string) {
		c, err := clientcmd.Load(kc)
		Expect(err).NotTo(HaveOccurred())
		cur := c.Contexts[c.CurrentContext]
		cluster := c.Clusters[cur.Cluster].DeepCopy()
		if server != "" {
			cluster.Server = server
		}
		cfg.Clusters[name] = cluster
		cfg.AuthInfos[name] = c.AuthInfos[cur.AuthInfo]
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	src, err := env.Kubeconfig(env.Source, "operator")
	Expect(err).NotTo(HaveOccurred())
	dr, err := env.Kubeconfig(env.DR, "operator")
	Expect(err).NotTo(HaveOccurred())
	add("source", src, "https://"+sourceProxy.Addr)
	add("dr", dr, "")
	cfg.CurrentContext = "source"
	path := filepath.Join(dir, "kubeconfig")
	Expect(clientcmd.WriteToFile(*cfg, path)).To(Succeed())
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
