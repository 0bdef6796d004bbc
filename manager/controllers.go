package manager

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/drsyncer/dr-syncer/controllers/remotecluster"
	"github.com/drsyncer/dr-syncer/controllers/replication"
	"github.com/drsyncer/dr-syncer/pkg/clusters"
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
	sourceCache, err := cache.New(mgr.GetConfig(), cache.Options{
		HTTPClient: mgr.GetHTTPClient(), Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(),
		DefaultLabelSelector: replication.SourceSelector(),
		DefaultTransform:     cache.TransformStripManagedFields(),
	})
	if err != nil {
		return fmt.Errorf("failed to create the source cache: %w", err)
	}
	if err := mgr.Add(sourceCache); err != nil {
		return err
	}
	if err := (&remotecluster.Reconciler{Client: mgr.GetClient(), Namespace: o.Namespace, Policy: o.Kubeconfig, Registry: registry}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("failed to set up the RemoteCluster controller: %w", err)
	}
	ropts := replication.Options{
		Namespace: o.Namespace, SourceCluster: o.SourceClusterName, MaxPruneFraction: o.MaxPruneFraction,
		MinPrune: o.MinPrune, Workers: o.Workers, Concurrency: o.Concurrency,
	}
	for _, namespaced := range []bool{false, true} {
		r := &replication.Reconciler{
			Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), SourceCache: sourceCache, Registry: registry,
			Recorder: mgr.GetEventRecorder("dr-syncer"), Options: ropts, Namespaced: namespaced,
		}
		if err := r.SetupWithManager(mgr, shared); err != nil {
			return fmt.Errorf("failed to set up the replication controller: %w", err)
		}
	}
	return nil
}
