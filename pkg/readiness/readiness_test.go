package readiness

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"
)

func object(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop-dr}
spec:
  template:
    spec:
      serviceAccountName: robot
      priorityClassName: critical
      runtimeClassName: gvisor
      imagePullSecrets: [{name: registry}]
      initContainers:
      - name: init
        envFrom: [{configMapRef: {name: init-env}}, {secretRef: {name: maybe, optional: true}}]
      containers:
      - name: web
        env:
        - {name: A, valueFrom: {configMapKeyRef: {name: settings, key: a}}}
        - {name: B, valueFrom: {secretKeyRef: {name: creds, key: b}}}
        - {name: C, valueFrom: {secretKeyRef: {name: optional-creds, key: c, optional: true}}}
        - {name: D, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: E, value: plain}
      volumes:
      - {name: v1, configMap: {name: settings}}
      - {name: v2, secret: {secretName: tls}}
      - {name: v3, persistentVolumeClaim: {claimName: data}}
      - {name: v4, projected: {sources: [{configMap: {name: projected-cm}}, {secret: {name: projected-secret, optional: true}}]}}
      - {name: v5, emptyDir: {}}
`

func TestNeeds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		manifest string
		want     []string
	}{
		{"a Deployment: every reference but the optional ones, once each", deployment, []string{
			"ConfigMap shop-dr/init-env", "ConfigMap shop-dr/projected-cm", "ConfigMap shop-dr/settings", "PersistentVolumeClaim shop-dr/data",
			"PriorityClass critical", "RuntimeClass gvisor", "Secret shop-dr/creds", "Secret shop-dr/registry", "Secret shop-dr/tls",
			"ServiceAccount shop-dr/robot"}},
		{"a CronJob's job template", `
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: shop-dr}
spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: c, envFrom: [{secretRef: {name: job-creds}}]}]}}}}}
`, []string{"Secret shop-dr/job-creds"}},
		{"a StatefulSet's claim templates", `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop-dr}
spec:
  template: {spec: {containers: [{name: db}]}}
  volumeClaimTemplates: [{metadata: {name: data}, spec: {storageClassName: fast}}, {metadata: {name: logs}, spec: {}}]
`, []string{"StorageClass fast"}},
		{"a PVC without a class needs none", `{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: d, namespace: shop-dr}, spec: {}}`, nil},
		{"a PVC with a class", `{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: d, namespace: shop-dr}, spec: {storageClassName: ssd}}`,
			[]string{"StorageClass ssd"}},
		{"an Ingress", `{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: i, namespace: shop-dr}, spec: {ingressClassName: nginx}}`,
			[]string{"IngressClass nginx"}},
		{"a RoleBinding: its Role and its own namespace's ServiceAccounts", `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: shop-dr}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
- {kind: ServiceAccount, name: robot, namespace: shop-dr}
- {kind: ServiceAccount, name: other, namespace: elsewhere}
- {kind: User, name: alice}
`, []string{"Role shop-dr/reader", "ServiceAccount shop-dr/robot"}},
		{"a ClusterRole binding", `{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: rb, namespace: shop-dr}, roleRef: {kind: ClusterRole, name: view}}`,
			[]string{"ClusterRole view"}},
		{"a custom resource needs its CRD", `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w, namespace: shop-dr}}`,
			[]string{"CustomResourceDefinition for Widget.example.com"}},
		{"a ConfigMap needs nothing", `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop-dr}}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range Needs(object(t, tc.manifest)) {
				got = append(got, r.String())
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("needs\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// What another copy provides is not missing; what exists on DR is not; each missing object is
// reported once, for the first copy that needs it.
func TestMissing(t *testing.T) {
	web := Ref{Group: "apps", Kind: "Deployment", Namespace: "shop-dr", Name: "web"}
	api := Ref{Group: "apps", Kind: "Deployment", Namespace: "shop-dr", Name: "api"}
	settings := Ref{Kind: "ConfigMap", Namespace: "shop-dr", Name: "settings"}
	creds := Ref{Kind: "Secret", Namespace: "shop-dr", Name: "creds"}
	sa := Ref{Kind: "ServiceAccount", Namespace: "shop-dr", Name: "default"}
	fast := Ref{Group: "storage.k8s.io", Kind: "StorageClass", Name: "fast"}
	needs := map[Ref][]Ref{web: {settings, creds, sa, fast}, api: {creds, sa}, settings: nil}
	onDR := map[Ref]bool{sa: true}
	got := Missing(needs, func(r Ref) bool { return onDR[r] })
	want := []Blocker{{Missing: fast, NeededBy: web}, {Missing: creds, NeededBy: api}}
	if !slices.Equal(got, want) {
		t.Fatalf("blockers %v, want %v", got, want)
	}
}

func TestCheckerReadsWhatExists(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = corev1.AddToScheme(scheme)
	reads := 0
	c := &Checker{Client: fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop-dr", Name: "settings"}}).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			reads++
			if obj.GetObjectKind().GroupVersionKind().Kind == "StorageClass" {
				return apierrors.NewForbidden(schema.GroupResource{Group: "storage.k8s.io", Resource: "storageclasses"}, key.Name, errors.New("denied"))
			}
			return c.Get(ctx, key, obj, opts...)
		}}).Build()}
	ctx := context.Background()
	if !c.Exists(ctx, Ref{Kind: "ConfigMap", Namespace: "shop-dr", Name: "settings"}) {
		t.Fatal("an existing ConfigMap is missing")
	}
	if c.Exists(ctx, Ref{Kind: "Secret", Namespace: "shop-dr", Name: "creds"}) {
		t.Fatal("a missing Secret exists")
	}
	if !c.Exists(ctx, Ref{Group: "storage.k8s.io", Kind: "StorageClass", Name: "fast"}) {
		t.Fatal("a denied read counts as missing: readiness must not guess")
	}
	c.Exists(ctx, Ref{Kind: "ConfigMap", Namespace: "shop-dr", Name: "settings"})
	c.Exists(ctx, Ref{Kind: "Secret", Namespace: "shop-dr", Name: "creds"})
	if reads != 4 {
		t.Fatalf("%d reads, want 4: what exists is read once, what is missing every time", reads)
	}
}

// A connection keeps its checker for a minute; a new connection, or the next minute, gets a new one.
func TestCheckersAreRenewed(t *testing.T) {
	var cs Checkers
	t0 := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	c := fake.NewClientBuilder().Build()
	first := cs.For("dr#1", c, t0)
	if cs.For("dr#1", c, t0.Add(59*time.Second)) != first || cs.For("dr#2", c, t0) == first {
		t.Fatal("a checker is not kept for its connection's minute")
	}
	if cs.For("dr#1", c, t0.Add(time.Minute)) == first {
		t.Fatal("a checker is kept past its minute")
	}
	renewed := cs.For("dr#1", c, t0.Add(time.Minute))
	cs.Forget("dr#1")
	if cs.For("dr#1", c, t0.Add(time.Minute)) == renewed {
		t.Fatal("a forgotten connection's checker is kept")
	}
}
