package manager

import (
	"context"
	"fmt"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/controllers/coverage"
	"github.com/drsyncer/dr-syncer/controllers/remotecluster"
	"github.com/drsyncer/dr-syncer/controllers/replication"
	"github.com/drsyncer/dr-syncer/pkg/clusters"
	"github.com/drsyncer/dr-syncer/pkg/scope"
	"github.com/drsyncer/dr-syncer/pkg/source"
)

// setupControllers wires the RemoteCluster and replication controllers with what they share: the
// registry of DR clusters and a source cache that holds only labeled objects.
func setupControllers(mgr ctrl.Manager, o Options) error {
	shared := replication.NewShared()
	registry := clusters.NewRegistry(mgr.GetScheme(), shared.OnDREvent)
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		<-ctx.Done()
		registry.Stop()
		return nil
	})); err != nil {
		return err
	}
	// The source is this cluster: compressing its responses only costs CPU on both ends.
	sourceCfg := rest.CopyConfig(mgr.GetConfig())
	sourceCfg.DisableCompression = true
	sourceCache, err := cache.New(sourceCfg, cache.Options{
		Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(),
		DefaultLabelSelector: scope.SourceSelector(),
		// Every label (selectors match on them); of the annotations only the opt-out.
		DefaultTransform: clusters.TrimMetadata(nil, []string{keys.KeyExclude}),
	})
	if err != nil {
		return fmt.Errorf("failed to create the source cache: %w", err)
	}
	if err := mgr.Add(sourceCache); err != nil {
		return err
	}
	// Content of changed source objects is read directly; the manager's client is rate-limited
	// for its own small traffic, so this reader gets its own limits.
	readerCfg := rest.CopyConfig(sourceCfg)
	readerCfg.QPS, readerCfg.Burst = float32(o.SourceQPS), 2*o.SourceQPS
	reader, err := client.New(readerCfg, client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()})
	if err != nil {
		return fmt.Errorf("failed to create the source reader: %w", err)
	}
	sourceVersion, err := discovery.NewDiscoveryClientForConfig(readerCfg)
	if err != nil {
		return fmt.Errorf("failed to create the source discovery client: %w", err)
	}
	sourceReader := &source.Reader{Reader: reader, Version: sourceVersion}
	if err := (&coverage.Reconciler{Client: mgr.GetClient(), Namespace: o.Namespace}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("failed to set up the namespace coverage controller: %w", err)
	}
	if err := (&remotecluster.Reconciler{Client: mgr.GetClient(), Namespace: o.Namespace, Policy: o.Kubeconfig, Registry: registry}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("failed to set up the RemoteCluster controller: %w", err)
	}
	ropts := replication.Options{
		Namespace: o.Namespace, SourceCluster: o.SourceClusterName, MaxPruneFraction: o.MaxPruneFraction,
		MinPrune: o.MinPrune, DeleteWindow: o.DeleteWindow, Workers: o.Workers, Concurrency: o.Concurrency,
		IdleInformerTimeout: o.IdleInformer,
	}
	for _, namespaced := range []bool{false, true} {
		r := &replication.Reconciler{
			Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), SourceCache: sourceCache, SourceReader: sourceReader, SourceDiscovery: sourceVersion, Registry: registry,
			Recorder: mgr.GetEventRecorder("dr-syncer"), Options: ropts, Namespaced: namespaced, Now: o.Now,
		}
		if err := r.SetupWithManager(mgr, shared); err != nil {
			return fmt.Errorf("failed to set up the replication controller: %w", err)
		}
	}
	return nil
}
