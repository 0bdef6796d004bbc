// Package remotecluster reconciles RemoteClusters: it reads the kubeconfig Secret, refuses unsafe
// kubeconfigs, connects the cluster in the shared registry, probes it periodically and reports
// Ready with a readable reason, the server version and the last probe time.
package remotecluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/drsyncer/dr-syncer/api/v1alpha1"
	"github.com/drsyncer/dr-syncer/pkg/access"
	"github.com/drsyncer/dr-syncer/pkg/clusters"
	"github.com/drsyncer/dr-syncer/pkg/kubeversion"
	"github.com/drsyncer/dr-syncer/pkg/metrics"
)

// Reconciler reconciles RemoteClusters.
type Reconciler struct {
	Client    client.Client
	Namespace string
	Policy    clusters.Policy
	Registry  *clusters.Registry
	// Now is the clock (time.Now by default).
	Now func() time.Time

	authz authorizations
}

// +kubebuilder:rbac:groups=drsyncer.io,resources=remoteclusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=drsyncer.io,resources=remoteclusters/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch,namespace=dr-syncer-system

// SetupWithManager registers the controller; a change to a kubeconfig Secret in the controller's
// namespace reconciles the RemoteClusters that use it.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.RemoteCluster{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.clustersUsingSecret)).
		Named("remotecluster").
		Complete(r)
}

func (r *Reconciler) clustersUsingSecret(ctx context.Context, o client.Object) []reconcile.Request {
	if o.GetNamespace() != r.Namespace {
		return nil
	}
	var list v1alpha1.RemoteClusterList
	if err := r.Client.List(ctx, &list); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, rc := range list.Items {
		if rc.Spec.KubeconfigSecretRef.Name == o.GetName() {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: rc.Name}})
		}
	}
	return reqs
}

// Reconcile connects and probes one RemoteCluster, then requeues after its health-check interval.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var rc v1alpha1.RemoteCluster
	if err := r.Client.Get(ctx, req.NamespacedName, &rc); err != nil {
		if apierrors.IsNotFound(err) {
			r.Registry.Disconnect(req.Name)
			metrics.Recorder{}.ClusterGone(req.Name)
			r.authz.forget(req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := rc.DeepCopy()
	rc.Spec.Default()
	ready := r.probeStatus(ctx, &rc)
	metrics.Recorder{}.ClusterUp(rc.Name, ready)
	if err := r.Client.Status().Patch(ctx, &rc, client.MergeFrom(before)); err != nil {
		return ctrl.Result{}, fmt.Errorf("failed to update the status of RemoteCluster %s: %w", rc.Name, err)
	}
	return ctrl.Result{RequeueAfter: r.requeueAfter(ctx, &rc, ready)}, nil
}

// probeStatus connects and probes the cluster and sets the status it finds; it reports whether
// the cluster is Ready.
func (r *Reconciler) probeStatus(ctx context.Context, rc *v1alpha1.RemoteCluster) bool {
	log := logf.FromContext(ctx)
	cond, version, identity := r.connectAndProbe(ctx, rc)
	now := metav1.NewTime(r.Now())
	rc.Status.ObservedGeneration = rc.Generation
	rc.Status.LastProbeTime = &now
	if version != "" {
		rc.Status.ServerVersion = version
	}
	if identity != "" {
		rc.Status.Identity = identity
	}
	cond.ObservedGeneration = rc.Generation
	if changed := meta.SetStatusCondition(&rc.Status.Conditions, cond); changed {
		log.Info("remote cluster readiness changed", "ready", cond.Status, "reason", cond.Reason, "message", cond.Message)
	}
	ready := cond.Status == metav1.ConditionTrue
	cl, ok := r.Registry.Get(rc.Name)
	if !ok || !ready {
		// What an unreachable cluster allows is not known.
		meta.RemoveStatusCondition(&rc.Status.Conditions, v1alpha1.ConditionAuthorized)
		return ready
	}
	authorized := r.authorizedCondition(ctx, rc, cl)
	authorized.ObservedGeneration = rc.Generation
	if changed := meta.SetStatusCondition(&rc.Status.Conditions, authorized); changed {
		log.Info("remote cluster authorization changed", "authorized", authorized.Status, "reason", authorized.Reason, "message", authorized.Message)
	}
	skew := versionSkew(cl.Version())
	skew.ObservedGeneration = rc.Generation
	if changed := meta.SetStatusCondition(&rc.Status.Conditions, skew); changed && skew.Status == metav1.ConditionTrue {
		log.Info("remote cluster outside the supported Kubernetes versions", "message", skew.Message)
	}
	return ready
}

// versionSkew is the VersionSkew condition of a cluster at version v: True (a warning, not a
// refusal) outside the supported window.
func versionSkew(v *version.Info) metav1.Condition {
	if why := kubeversion.Skew(v); why != "" {
		return metav1.Condition{Type: v1alpha1.ConditionVersionSkew, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonOutsideSupportedVersions,
			Message: why + "; dr-syncer mirrors to it anyway"}
	}
	return metav1.Condition{Type: v1alpha1.ConditionVersionSkew, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonSupportedVersion,
		Message: fmt.Sprintf("Kubernetes %s is inside the supported window (v1.%d to v1.%d)", v.GitVersion, kubeversion.OldestMinor, kubeversion.NewestMinor)}
}

// requeueAfter is when the cluster is probed again: the health-check interval, sooner when its
// token is due for renewal.
func (r *Reconciler) requeueAfter(ctx context.Context, rc *v1alpha1.RemoteCluster, ready bool) time.Duration {
	requeue := rc.Spec.HealthCheckInterval.Duration
	if !ready {
		return requeue
	}
	next, err := r.renewToken(ctx, rc)
	if err != nil {
		// The token still has a third of its life: retried well before it expires.
		logf.FromContext(ctx).Error(err, "cannot renew the DR cluster's token", "cluster", rc.Name)
		next = r.Now().Add(30 * time.Second)
	}
	if !next.IsZero() {
		requeue = min(requeue, max(next.Sub(r.Now()), time.Second))
	}
	return requeue
}

// +kubebuilder:rbac:groups="",resources=secrets,verbs=update;patch,namespace=dr-syncer-system

// renewToken renews a bound ServiceAccount token (as `kubectl drsyncer join` stores) once two thirds
// of its life are gone: it asks the DR cluster for a new one for the same ServiceAccount, as that
// ServiceAccount, and stores it in the kubeconfig Secret, whose change reconnects the cluster. It
// returns when the token in use is due; zero for credentials that are not renewed.
func (r *Reconciler) renewToken(ctx context.Context, rc *v1alpha1.RemoteCluster) (time.Time, error) {
	ref := rc.Spec.KubeconfigSecretRef
	var secret corev1.Secret
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: ref.Name}, &secret); err != nil {
		return time.Time{}, err
	}
	token, err := access.TokenOf(secret.Data[ref.Key])
	if err != nil {
		return time.Time{}, err
	}
	bound, ok := access.ParseBoundToken(token)
	if !ok {
		return time.Time{}, nil
	}
	if r.Now().Before(bound.RenewAt()) {
		return bound.RenewAt(), nil
	}
	cl, ok := r.Registry.Get(rc.Name)
	if !ok {
		return time.Time{}, fmt.Errorf("RemoteCluster %s is not connected", rc.Name)
	}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(bound.Lifetime().Seconds()))}}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: bound.Namespace, Name: bound.ServiceAccount}}
	if err := cl.Client.SubResource("token").Create(ctx, sa, tr); err != nil {
		return time.Time{}, fmt.Errorf("failed to request a new token for ServiceAccount %s/%s: %w", bound.Namespace, bound.ServiceAccount, err)
	}
	kubeconfig, err := access.WithToken(secret.Data[ref.Key], tr.Status.Token)
	if err != nil {
		return time.Time{}, err
	}
	before := secret.DeepCopy()
	secret.Data[ref.Key] = kubeconfig
	if err := r.Client.Patch(ctx, &secret, client.MergeFrom(before)); err != nil {
		return time.Time{}, fmt.Errorf("failed to store the renewed token in Secret %s/%s: %w", r.Namespace, ref.Name, err)
	}
	renewed, _ := access.ParseBoundToken(tr.Status.Token)
	logf.FromContext(ctx).Info("renewed the DR cluster's token", "cluster", rc.Name, "serviceAccount", bound.Namespace+"/"+bound.ServiceAccount, "expires", renewed.Expires)
	return renewed.RenewAt(), nil
}

// connectAndProbe returns the Ready condition and, when the cluster answers, its version and
// identity.
func (r *Reconciler) connectAndProbe(ctx context.Context, rc *v1alpha1.RemoteCluster) (_ metav1.Condition, version, identity string) {
	cfg, fingerprint, cond := r.restConfig(ctx, rc)
	if cfg == nil {
		r.Registry.Disconnect(rc.Name)
		return cond, "", ""
	}
	cl, err := r.Registry.Connect(ctx, rc.Name, cfg, fingerprint)
	if err != nil {
		return notReady(v1alpha1.ReasonInvalidKubeconfig, "%v", err), "", ""
	}
	probeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ref := rc.Spec.KubeconfigSecretRef
	v, err := probe(probeCtx, cl)
	switch {
	case errors.Is(err, clusters.ErrRefused):
		r.Registry.Disconnect(rc.Name)
		return notReady(v1alpha1.ReasonKubeconfigRefused, "Secret %s/%s key %q: %s", r.Namespace, ref.Name, ref.Key, clusters.BriefError(err)), "", ""
	case err != nil:
		return notReady(v1alpha1.ReasonUnreachable, "%s does not answer: %s", cfg.Host, clusters.BriefError(err)), "", ""
	}
	if cl, err = r.checkIdentity(probeCtx, rc.Name, cl, cfg, fingerprint); err != nil {
		return notReady(v1alpha1.ReasonUnreachable, "%s answers, but %s", cfg.Host, clusters.BriefError(err)), v, ""
	}
	src, err := clusters.Identify(probeCtx, r.Client)
	if err != nil {
		return notReady(v1alpha1.ReasonUnreachable, "cannot tell %s from the source cluster: %v", cfg.Host, err), v, cl.Identity()
	}
	if cl.Identity() == src {
		// Writing copies onto their own sources could overwrite or, under deletionPolicy Delete,
		// delete them. Nothing is connected, so nothing can be written.
		r.Registry.Disconnect(rc.Name)
		return notReady(v1alpha1.ReasonSourceCluster, "%s is the source cluster itself (the same %s namespace UID): a DR cluster must be another cluster; nothing is written to it",
			cfg.Host, clusters.IdentityNamespace), v, src
	}
	return metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonConnected,
		Message: fmt.Sprintf("%s answers (Kubernetes %s)", cfg.Host, v)}, v, cl.Identity()
}

func notReady(reason, format string, args ...any) metav1.Condition {
	return metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// restConfig reads the cluster's kubeconfig Secret into a REST config with the spec's limits, and
// a fingerprint of both; nil and the condition that says why when it cannot.
func (r *Reconciler) restConfig(ctx context.Context, rc *v1alpha1.RemoteCluster) (*rest.Config, string, metav1.Condition) {
	ref := rc.Spec.KubeconfigSecretRef
	var secret corev1.Secret
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: ref.Name}, &secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, "", notReady(v1alpha1.ReasonSecretNotFound, "Secret %s/%s does not exist", r.Namespace, ref.Name)
		}
		return nil, "", notReady(v1alpha1.ReasonSecretNotFound, "cannot read Secret %s/%s: %v", r.Namespace, ref.Name, err)
	}
	data, ok := secret.Data[ref.Key]
	if !ok || len(data) == 0 {
		return nil, "", notReady(v1alpha1.ReasonInvalidKubeconfig, "Secret %s/%s has no key %q", r.Namespace, ref.Name, ref.Key)
	}
	cfg, err := clusters.RESTConfig(data, r.Policy)
	if err != nil {
		reason := v1alpha1.ReasonInvalidKubeconfig
		if errors.Is(err, clusters.ErrRefused) {
			reason = v1alpha1.ReasonKubeconfigRefused
		}
		return nil, "", notReady(reason, "Secret %s/%s key %q: %v", r.Namespace, ref.Name, ref.Key, err)
	}
	cfg.QPS, cfg.Burst = float32(rc.Spec.QPS), int(rc.Spec.Burst)
	sum := sha256.Sum256(append(data, fmt.Sprintf("|%d|%d", rc.Spec.QPS, rc.Spec.Burst)...))
	return cfg, hex.EncodeToString(sum[:]), metav1.Condition{}
}

// checkIdentity records the cluster's identity on its connection, and connects anew when the same
// kubeconfig now reaches another cluster (rebuilt, or an address that moved): nothing the
// controllers remember about the old connection holds for the new cluster.
func (r *Reconciler) checkIdentity(ctx context.Context, name string, cl *clusters.Cluster, cfg *rest.Config, fingerprint string) (*clusters.Cluster, error) {
	id, err := clusters.Identify(ctx, cl.Client)
	if err != nil {
		return nil, err
	}
	switch prev := cl.Identity(); {
	case prev == "":
		cl.SetIdentity(id)
	case prev != id:
		logf.FromContext(ctx).Info("DR cluster identity changed: connecting anew", "cluster", name, "was", prev, "now", id)
		r.Registry.Disconnect(name)
		if cl, err = r.Registry.Connect(ctx, name, cfg, fingerprint); err != nil {
			return nil, err
		}
		cl.SetIdentity(id)
	}
	return cl, nil
}

func probe(ctx context.Context, c *clusters.Cluster) (string, error) {
	done := make(chan struct{})
	var version string
	var err error
	go func() {
		defer close(done)
		info, e := c.Discovery.ServerVersion()
		if e != nil {
			err = e
			return
		}
		version = info.GitVersion
	}()
	select {
	case <-done:
		return version, err
	case <-ctx.Done():
		return "", fmt.Errorf("no answer within the probe timeout: %w", ctx.Err())
	}
}
