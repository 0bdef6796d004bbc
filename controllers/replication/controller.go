// Package replication reconciles ClusterReplications and Replications. It translates: the spec
// into what the source side gathers (pkg/source) and into one engine pass per target (pkg/mirror),
// and the passes' change sets into status (a pure function), events and metrics.
package replication

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	crsource "sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/access"
	"github.com/drsyncer/dr-syncer/pkg/clusters"
	"github.com/drsyncer/dr-syncer/pkg/kubeversion"
	"github.com/drsyncer/dr-syncer/pkg/metrics"
	"github.com/drsyncer/dr-syncer/pkg/mirror"
	"github.com/drsyncer/dr-syncer/pkg/readiness"
	"github.com/drsyncer/dr-syncer/pkg/schedule"
	"github.com/drsyncer/dr-syncer/pkg/source"
	"github.com/drsyncer/dr-syncer/pkg/transform"
)

// Options configure both replication controllers.
type Options struct {
	// Namespace is the controller's namespace: never a source.
	Namespace string
	// SourceCluster names the source cluster in each DR copy's drsyncer.io/source annotation.
	SourceCluster string
	// MaxPruneFraction and MinPrune are the mass-delete breaker: within DeleteWindow a target
	// deletes at most this share of its copies (at least MinPrune).
	MaxPruneFraction float64
	MinPrune         int
	DeleteWindow     time.Duration
	// Workers bounds concurrent writes per target.
	Workers int
	// Concurrency is the number of replications reconciled at once.
	Concurrency int
	// IdleInformerTimeout is how long the source informer of a kind no replication includes any
	// more is kept before it is stopped.
	IdleInformerTimeout time.Duration
}

// Reconciler reconciles one of the two replication kinds.
type Reconciler struct {
	Client    client.Client
	APIReader client.Reader
	// SourceCache holds the metadata of the objects that carry the replication label.
	SourceCache cache.Cache
	// SourceReader reads their content from the source API server when a pass needs it.
	SourceReader client.Reader
	// SourceDiscovery tells which verbs a kind serves on the source (nil: not checked).
	SourceDiscovery discovery.DiscoveryInterface
	Registry        *clusters.Registry
	Recorder        events.EventRecorder
	Metrics         metrics.Recorder
	Options         Options
	// Namespaced selects Replication (true) or ClusterReplication (false).
	Namespaced bool
	// Now is the clock; tests inject one.
	Now func() time.Time

	shared *Shared
	mem    *memory
	access *access.Kinds
}

// memory is what the controller remembers between passes to tell drift from news and to measure
// propagation lag. Losing it (a restart) only loses precision, never correctness. Each part has
// its own lock; mu guards the maps here.
type memory struct {
	// changes are the source changes not yet handled, for the propagation lag.
	changes *metrics.Changes
	// copies holds the copies known to be in sync; a known copy found missing was deleted on DR,
	// which is drift.
	copies *mirror.CopyMemory
	// namespaces are the DR namespaces that exist, and those dr-syncer created.
	namespaces *mirror.Namespaces
	// deletes are the recent deletes per replication and target, for the breaker.
	deletes *mirror.DeleteLogs
	// dependencies are what each replication's workloads reference (resources.dependencies Follow).
	dependencies *source.Dependencies
	// checkers say what exists on each DR connection, for failover readiness.
	checkers readiness.Checkers

	mu sync.Mutex
	// backfills are when each replication last labeled what the webhook missed.
	backfills *schedule.Backfills
	// retries are the pending retries of failed Scheduled passes.
	retries *schedule.Retries
	// connections is the Cluster.ID each DR cluster's entries above were recorded under.
	connections map[string]string
}

// observe forgets what was remembered about a DR cluster's previous connection (copies and
// namespaces keyed by its ID) once the cluster is connected anew: after a reconnect, a re-pointed
// Secret or a changed identity, none of it is known to hold.
func (m *memory) observe(cl *clusters.Cluster) {
	m.mu.Lock()
	defer m.mu.Unlock()
	prev, ok := m.connections[cl.Name]
	m.connections[cl.Name] = cl.ID
	if !ok || prev == cl.ID {
		return
	}
	m.namespaces.ForgetConnection(prev)
	m.checkers.Forget(prev)
	m.copies.ForgetConnection(prev)
}

func newMemory() *memory {
	return &memory{changes: metrics.NewChanges(), copies: mirror.NewCopyMemory(), namespaces: mirror.NewNamespaces(), deletes: mirror.NewDeleteLogs(),
		dependencies: source.NewDependencies(),
		backfills:    schedule.NewBackfills(), retries: schedule.NewRetries(), connections: map[string]string{}}
}

// Shared is what both controllers share: one memory, the source informers, one trigger channel
// per kind, the source's version.
type Shared struct {
	mem                 *memory
	informers           *source.Informers
	cluster, namespaced chan event.GenericEvent
	sourceVersion       kubeversion.Cached
}

// NewShared returns the state shared by the two controllers.
func NewShared() *Shared {
	return &Shared{mem: newMemory(), cluster: make(chan event.GenericEvent, 4096), namespaced: make(chan event.GenericEvent, 4096)}
}

// +kubebuilder:rbac:groups=drsyncer.io,resources=clusterreplications;replications,verbs=get;list;watch
// +kubebuilder:rbac:groups=drsyncer.io,resources=clusterreplications/status;replications/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=configmaps;secrets;services;serviceaccounts;persistentvolumeclaims,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=batch,resources=cronjobs,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses;networkpolicies,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the controller; shared connects it with its sibling kind.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, shared *Shared) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Options.DeleteWindow <= 0 {
		r.Options.DeleteWindow = time.Hour
	}
	if r.Options.IdleInformerTimeout <= 0 {
		r.Options.IdleInformerTimeout = 10 * time.Minute
	}
	r.shared, r.mem = shared, shared.mem
	r.access = access.SourceKinds(r.Client, r.SourceDiscovery, r.Now)
	if shared.sourceVersion.Server == nil && r.SourceDiscovery != nil {
		shared.sourceVersion.Server = r.SourceDiscovery
	}
	if shared.informers == nil {
		// Once for both kinds: they share the source cache and the memory of who uses which kind.
		shared.informers = source.NewInformers(r.SourceCache, r.Options.IdleInformerTimeout, r.onSourceEvent)
		if err := mgr.Add(manager.RunnableFunc(shared.informers.StopIdle)); err != nil {
			return err
		}
	}
	triggers := shared.cluster
	obj, name := v1alpha1.NewReplication(r.Namespaced), "clusterreplication"
	if r.Namespaced {
		triggers, name = shared.namespaced, "replication"
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(obj, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WatchesRawSource(crsource.Channel(triggers, &handler.EnqueueRequestForObject{})).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.forNamespace)).
		// A DR cluster that comes back (or goes away) gets a pass at once, not after a backoff.
		Watches(&v1alpha1.RemoteCluster{}, handler.EnqueueRequestsFromMapFunc(r.forRemoteCluster), builder.WithPredicates(readinessChanged{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(1, r.Options.Concurrency)}).
		Named(name).
		Complete(r)
}

// forNamespace maps a Namespace change (opt-in, labels) to the replications that may cover it.
func (r *Reconciler) forNamespace(ctx context.Context, o client.Object) []ctrl.Request {
	ns := ""
	if r.Namespaced {
		ns = o.GetName()
	}
	return requests(r.replications(ctx, ns), func(v1alpha1.AnyReplication) bool { return true })
}

// forRemoteCluster maps a RemoteCluster to the replications that target it.
func (r *Reconciler) forRemoteCluster(ctx context.Context, o client.Object) []ctrl.Request {
	return requests(r.replications(ctx, ""), func(it v1alpha1.AnyReplication) bool { return it.ReplicationSpec().HasTarget(o.GetName()) })
}

func requests(items []v1alpha1.AnyReplication, match func(v1alpha1.AnyReplication) bool) []ctrl.Request {
	var reqs []ctrl.Request
	for _, it := range items {
		if match(it) {
			reqs = append(reqs, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: it.GetNamespace(), Name: it.GetName()}})
		}
	}
	return reqs
}

// readinessChanged passes RemoteCluster events whose Ready status, identity or spec changed (not
// every probe): a narrower allowedNamespaces must stop tenant writes at once, and a Secret pointed
// at another cluster must fill it at once.
type readinessChanged struct{ predicate.Funcs }

func (readinessChanged) Update(e event.UpdateEvent) bool {
	status := func(o client.Object) (metav1.ConditionStatus, string) {
		rc, ok := o.(*v1alpha1.RemoteCluster)
		if !ok {
			return "", ""
		}
		if c := meta.FindStatusCondition(rc.Status.Conditions, v1alpha1.ConditionReady); c != nil {
			return c.Status, rc.Status.Identity
		}
		return "", rc.Status.Identity
	}
	oldReady, oldID := status(e.ObjectOld)
	newReady, newID := status(e.ObjectNew)
	return oldReady != newReady || oldID != newID || e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration()
}

// trigger enqueues the replications an object (source or DR copy) may belong to.
func (s *Shared) trigger(replication, sourceNamespace string) {
	if replication == "" {
		return
	}
	cr := &v1alpha1.ClusterReplication{}
	cr.Name = replication
	r := &v1alpha1.Replication{}
	r.Name, r.Namespace = replication, sourceNamespace
	// Never block an informer: a full queue means a pass is pending anyway.
	select {
	case s.cluster <- event.GenericEvent{Object: cr}:
	default:
	}
	if sourceNamespace != "" {
		select {
		case s.namespaced <- event.GenericEvent{Object: r}:
		default:
		}
	}
}

// OnDREvent is the registry's handler for updates and deletes of managed objects on DR clusters.
func (s *Shared) OnDREvent(_ string, obj client.Object) {
	_, ns, _, _ := transform.ParseSourceRef(obj.GetAnnotations()[keys.AnnotationSource])
	s.trigger(obj.GetLabels()[keys.LabelReplication], ns)
}

// onSourceEvent notes when a source object changed, for the propagation lag, and triggers the
// replications it may belong to.
func (r *Reconciler) onSourceEvent(gk schema.GroupKind, o client.Object) {
	r.mem.changes.Seen(objectKey(gk.String(), o.GetNamespace(), o.GetName()), r.Now())
	r.shared.trigger(o.GetLabels()[keys.LabelReplication], o.GetNamespace())
}

func objectKey(kind, namespace, name string) string { return kind + "/" + namespace + "/" + name }
