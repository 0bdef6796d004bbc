package source

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

var deployments = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}

func depMeta(gvk schema.GroupVersionKind, name, version string) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	m.SetNamespace("shop")
	m.SetName(name)
	m.SetResourceVersion(version)
	return m
}

// A workload's content is read when it is new or changed, never for a kind that references
// nothing, and what it needs in its namespace is remembered until it is gone.
func TestDependenciesReadOnlyWhatChanged(t *testing.T) {
	gets := 0
	web := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
		Spec: corev1.PodSpec{ServiceAccountName: "robot", PriorityClassName: "critical", Containers: []corev1.Container{{Name: "c",
			EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "env"}}}}}}}}}}
	reader := fake.NewClientBuilder().WithObjects(web).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			gets++
			return c.Get(ctx, key, obj, opts...)
		}}).Build()
	d := NewDependencies()
	ctx := context.Background()
	pass := func(version string) map[schema.GroupVersionKind][]*metav1.PartialObjectMetadata {
		return map[schema.GroupVersionKind][]*metav1.PartialObjectMetadata{
			deployments: {depMeta(deployments, "web", version)}, configMaps: {depMeta(configMaps, "env", "3")}}
	}
	for i, step := range []struct {
		version string
		reads   int
	}{{"1", 1}, {"1", 1}, {"2", 2}} {
		got, err := d.Of(ctx, "prod", NewContents(ctx, reader, labels.Everything()), pass(step.version))
		if err != nil {
			t.Fatal(err)
		}
		if gets != step.reads {
			t.Fatalf("step %d: %d reads, want %d", i, gets, step.reads)
		}
		refs := got[deployments][0]
		if len(refs) != 2 || refs[0].String() != "ConfigMap shop/env" || refs[1].String() != "ServiceAccount shop/robot" || got[configMaps] != nil {
			t.Fatalf("step %d: needs %v (cluster-scoped PriorityClass left out), ConfigMaps %v", i, refs, got[configMaps])
		}
	}
	if _, err := d.Of(ctx, "prod", NewContents(ctx, reader, labels.Everything()), nil); err != nil || len(d.byRef["prod"]) != 0 {
		t.Fatalf("a workload that is gone is remembered: %v", d.byRef["prod"])
	}
	d.Forget("prod")
	if _, ok := d.byRef["prod"]; ok {
		t.Fatal("a replication that is gone is remembered")
	}
}
