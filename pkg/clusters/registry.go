package clusters

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/flowcontrol"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/access"
	"github.com/drsyncer/dr-syncer/pkg/kubeversion"
)

// Cluster is a connected DR cluster: a client for writes and a cache that holds only the metadata
// of the objects dr-syncer manages there, so that an edit or delete on DR is seen at once while
// memory stays small; content is read only when a decision needs it.
type Cluster struct {
	Name string
	// ID is unique to this connection: whatever a caller remembers about the cluster under an
	// older ID is about another connection, possibly another cluster, and is not to be trusted.
	ID     string
	Client client.Client
	// Writer creates and applies, answered with metadata only.
	Writer *Writer
	Cache  cache.Cache
	// Discovery answers the health probe.
	Discovery discovery.DiscoveryInterface
	// Access says which kinds dr-syncer may read on the cluster, on this connection.
	Access *access.Kinds

	fingerprint string
	cancel      context.CancelFunc
	onEvent     func(cluster string, obj client.Object)

	version  kubeversion.Cached
	mu       sync.Mutex
	watching map[schema.GroupVersionKind]bool
	informer map[schema.GroupVersionKind]cache.Informer
	identity string
}

// Version is the cluster's Kubernetes version, asked at most once a minute (nil when it never
// answered).
func (c *Cluster) Version() *version.Info { return c.version.Get() }

// Identity is the cluster's identity as first seen on this connection (see Identify), "" before.
func (c *Cluster) Identity() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.identity
}

// SetIdentity records the identity seen at connect.
func (c *Cluster) SetIdentity(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.identity = id
}

// connections numbers the connections of this process, for Cluster.ID.
var connections atomic.Uint64

// SeenVersion is the resourceVersion up to which the cache's informer for gvk has seen events,
// so a caller can tell a cache that lags behind its own write from a copy that is really gone.
func (c *Cluster) SeenVersion(gvk schema.GroupVersionKind) string {
	c.mu.Lock()
	inf := c.informer[gvk]
	c.mu.Unlock()
	if v, ok := inf.(interface{ LastSyncResourceVersion() string }); ok {
		return v.LastSyncResourceVersion()
	}
	return ""
}

// Watch makes sure the cache has an informer for gvk that reports every event to the registry's
// handler. It fails fast when the kind does not exist on the cluster (a missing CRD).
func (c *Cluster) Watch(ctx context.Context, gvk schema.GroupVersionKind) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watching[gvk] {
		return nil
	}
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(gvk)
	inf, err := c.Cache.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("cannot watch %s on cluster %s: %w", gvk.Kind, c.Name, err)
	}
	if c.onEvent != nil {
		notify := func(o any) {
			if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			if co, ok := o.(client.Object); ok {
				c.onEvent(c.Name, co)
			}
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			UpdateFunc: func(_, o any) { notify(o) },
			DeleteFunc: notify,
		}); err != nil {
			return err
		}
	}
	c.watching[gvk] = true
	c.informer[gvk] = inf
	return nil
}

// Registry holds the connected DR clusters by RemoteCluster name.
type Registry struct {
	scheme  *runtime.Scheme
	onEvent func(cluster string, obj client.Object)

	mu       sync.RWMutex
	clusters map[string]*Cluster
}

// NewRegistry returns an empty registry; onEvent (may be nil) is called for every update or
// delete of a managed object on any DR cluster.
func NewRegistry(scheme *runtime.Scheme, onEvent func(cluster string, obj client.Object)) *Registry {
	return &Registry{scheme: scheme, onEvent: onEvent, clusters: map[string]*Cluster{}}
}

// SetEventHandler sets the DR event handler for clusters connected from now on.
func (r *Registry) SetEventHandler(onEvent func(cluster string, obj client.Object)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onEvent = onEvent
}

// Get returns a connected cluster.
func (r *Registry) Get(name string) (*Cluster, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.clusters[name]
	return c, ok
}

// Ready returns the cluster of RemoteCluster name and the RemoteCluster when it is Ready and
// connected, or why not.
func (r *Registry) Ready(ctx context.Context, c client.Reader, name string) (*Cluster, *v1alpha1.RemoteCluster, string) {
	rc := &v1alpha1.RemoteCluster{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, rc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, fmt.Sprintf("RemoteCluster %q does not exist", name)
		}
		return nil, nil, fmt.Sprintf("cannot read RemoteCluster %q: %v", name, err)
	}
	if cond := meta.FindStatusCondition(rc.Status.Conditions, v1alpha1.ConditionReady); cond == nil || cond.Status != metav1.ConditionTrue {
		msg := "not probed yet"
		if cond != nil {
			msg = cond.Message
		}
		return nil, nil, fmt.Sprintf("RemoteCluster %q is not ready: %s", name, msg)
	}
	cl, ok := r.Get(name)
	if !ok {
		return nil, nil, fmt.Sprintf("RemoteCluster %q is not connected yet", name)
	}
	return cl, rc, ""
}

// Connect returns the cluster for name, building a new client and cache when there is none or
// when fingerprint (of the kubeconfig and rate limits) changed, so a new Secret takes effect
// without a restart. ctx bounds the cache's life.
func (r *Registry) Connect(ctx context.Context, name string, cfg *rest.Config, fingerprint string) (*Cluster, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clusters[name]; ok {
		if c.fingerprint == fingerprint {
			return c, nil
		}
		c.cancel()
		delete(r.clusters, name)
		logf.FromContext(ctx).Info("reconnecting to DR cluster: its kubeconfig or limits changed", "cluster", name)
	}
	c, err := r.build(name, cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to connect to cluster %s: %w", name, err)
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.fingerprint, c.cancel = fingerprint, cancel
	go func() {
		if err := c.Cache.Start(cctx); err != nil {
			logf.FromContext(ctx).Error(err, "DR cache stopped", "cluster", name)
		}
	}()
	r.clusters[name] = c
	return c, nil
}

// build makes the clients of a new connection to a cluster.
func (r *Registry) build(name string, cfg *rest.Config) (*Cluster, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	// One budget for every request to the cluster: client-go otherwise gives each client (and
	// controller-runtime each kind) a token bucket of its own, and qps would hold per kind.
	// The cache's watches and the health probe stay outside it, so a write storm never delays the
	// events that report drift or makes a busy cluster look down.
	unlimited := rest.CopyConfig(cfg)
	if cfg.RateLimiter == nil && cfg.QPS > 0 {
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, max(cfg.Burst, int(cfg.QPS)))
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to build an HTTP client: %w", err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("failed to build a REST mapper: %w", err)
	}
	ca, err := r.cache(unlimited, mapper)
	if err != nil {
		return nil, err
	}
	cl, err := client.New(cfg, client.Options{HTTPClient: httpClient, Scheme: r.scheme, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("failed to build a client: %w", err)
	}
	writer, err := NewWriter(cfg, httpClient, mapper)
	if err != nil {
		return nil, fmt.Errorf("failed to build a writer: %w", err)
	}
	disco, err := discovery.NewDiscoveryClientForConfigAndClient(unlimited, httpClient)
	if err != nil {
		return nil, fmt.Errorf("failed to build a discovery client: %w", err)
	}
	return &Cluster{Name: name, ID: fmt.Sprintf("%s#%d", name, connections.Add(1)), Client: cl, Writer: writer, Cache: ca, Discovery: disco,
		Access: access.DRKinds(name, cl, disco, time.Now), onEvent: r.onEvent, version: kubeversion.Cached{Server: disco},
		watching: map[schema.GroupVersionKind]bool{}, informer: map[schema.GroupVersionKind]cache.Informer{}}, nil
}

// cache is the cache of the copies dr-syncer manages on a cluster (metadata, trimmed). The cache's
// watches carry one small event per write, and an API server gzips every flush of a watch a client
// accepts gzip for: on a busy copy that costs the DR server more CPU than it saves bandwidth. The
// cache gets its own uncompressed connection.
func (r *Registry) cache(cfg *rest.Config, mapper meta.RESTMapper) (cache.Cache, error) {
	cacheCfg := rest.CopyConfig(cfg)
	cacheCfg.DisableCompression = true
	cacheHTTP, err := rest.HTTPClientFor(cacheCfg)
	if err != nil {
		return nil, fmt.Errorf("failed to build an HTTP client: %w", err)
	}
	ca, err := cache.New(cacheCfg, cache.Options{
		HTTPClient: cacheHTTP, Scheme: r.scheme, Mapper: mapper,
		DefaultLabelSelector: labels.SelectorFromSet(labels.Set{keys.LabelManagedBy: keys.ManagedByValue}),
		DefaultTransform:     DRCopyTransform,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to build a cache: %w", err)
	}
	return ca, nil
}

// Disconnect stops and forgets a cluster (its RemoteCluster was deleted or its Secret broke).
func (r *Registry) Disconnect(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clusters[name]; ok {
		c.cancel()
		delete(r.clusters, name)
	}
}

// Stop disconnects every cluster.
func (r *Registry) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, c := range r.clusters {
		c.cancel()
		delete(r.clusters, name)
	}
}
