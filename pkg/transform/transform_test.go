package transform

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/drsyncer/dr-syncer/api/keys"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// standby is the default target: the namespace mapped, workloads at zero, CronJobs suspended.
var standby = Options{SourceCluster: "source", Replication: "prod", TargetNamespace: "shop-dr", Replicas: ReplicasZero, SuspendCronJobs: true}

func TestGolden(t *testing.T) {
	with := func(mut func(*Options)) Options {
		o := standby
		mut(&o)
		return o
	}
	cases := map[string]Options{
		"deployment": with(func(o *Options) {
			o.ImageRegistries = []RegistryRewrite{{From: "registry.example.com", To: "dr-registry.example.com"}}
		}),
		"statefulset":          with(func(o *Options) { o.StorageClasses = map[string]string{"fast-ssd": "dr-ssd"} }),
		"daemonset":            standby,
		"cronjob":              standby,
		"service-clusterip":    standby,
		"service-headless":     standby,
		"service-nodeport":     standby,
		"service-loadbalancer": with(func(o *Options) { o.PreserveNodePorts = true }),
		"pvc":                  with(func(o *Options) { o.StorageClasses = map[string]string{"gp3": "standard"} }),
		"secret":               standby,
		"configmap":            standby,
		"ingress":              standby,
		"hpa":                  standby,
		"custom-resource":      standby,
		"keda-scaledobject":    standby,
		"flux-kustomization":   standby,
		"flux-helmrelease":     standby,
		"crossplane-managed":   standby,
		"argocd-application":   standby,
		"serviceaccount":       standby,
		"rolebinding":          standby,
		"gitops-tracked":       standby,
		"gitops-kept":          with(func(o *Options) { o.KeepTrackingMetadata = true }),
		"networkpolicy":        standby,
		"overrides": with(func(o *Options) {
			o.Replicas, o.FixedReplicas = ReplicasFixed, 1
			o.ImageRegistries = []RegistryRewrite{{From: "registry.example.com/", To: "mirror.dr.example.com/cache"}}
			o.AddLabels = map[string]string{"site": "dr"}
			o.RemoveLabels = []string{"debug"}
			o.AddAnnotations = map[string]string{"oncall": "dr-team"}
			o.RemoveAnnotations = []string{"team"}
			o.Patches = []Patch{
				{Kind: "Deployment", Op: "replace", Path: "/spec/template/spec/containers/0/env/0/value", Value: []byte(`"standby"`)},
				{Kind: "Service", Op: "add", Path: "/spec/never", Value: []byte(`true`)},
			}
		}),
	}
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, ok := cases[d.Name()]; !ok {
			t.Errorf("testdata/%s has no case", d.Name())
		}
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			src := readObject(t, filepath.Join("testdata", name, "input.yaml"))
			got, err := Desired(src, opts)
			if err != nil {
				t.Fatal(err)
			}
			gotYAML, err := yaml.Marshal(got.Object)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name, "output.yaml")
			if *update {
				if err := os.WriteFile(golden, gotYAML, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/transform -update)", err)
			}
			if string(want) != string(gotYAML) {
				t.Fatalf("%s differs from the golden file:\n--- want\n%s\n--- got\n%s", name, want, gotYAML)
			}
			if got.GetAnnotations()[keys.AnnotationSpecHash] != Hash(got) {
				t.Fatal("the recorded spec hash is not the hash of the result")
			}
			again, _ := Desired(src, opts)
			if Hash(again) != Hash(got) {
				t.Fatal("the transform is not deterministic")
			}
		})
	}
}

func readObject(t testing.TB, path string) *unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{} // decodes numbers as int64, as objects from the API are
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestDesiredDoesNotModifySource(t *testing.T) {
	src := readObject(t, "testdata/deployment/input.yaml")
	before, _ := yaml.Marshal(src.Object)
	if _, err := Desired(src, standby); err != nil {
		t.Fatal(err)
	}
	after, _ := yaml.Marshal(src.Object)
	if string(before) != string(after) {
		t.Fatal("Desired modified its input")
	}
}

func TestHashChangesWithSpecOnly(t *testing.T) {
	src := readObject(t, "testdata/configmap/input.yaml")
	a, _ := Desired(src, standby)
	src.SetResourceVersion("999") // runtime noise
	b, _ := Desired(src, standby)
	if Hash(a) != Hash(b) {
		t.Fatal("a resourceVersion change must not change the hash")
	}
	_ = unstructured.SetNestedField(src.Object, "red", "data", "color")
	c, _ := Desired(src, standby)
	if Hash(a) == Hash(c) {
		t.Fatal("a data change must change the hash")
	}
}

func TestOwnerIsRecordedAndHashed(t *testing.T) {
	src := readObject(t, "testdata/configmap/input.yaml")
	o := standby
	o.Owner = "ClusterReplication/prod"
	a, err := Desired(src, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.GetAnnotations()[keys.AnnotationOwner]; got != o.Owner {
		t.Fatalf("owner annotation = %q, want %q", got, o.Owner)
	}
	o.Owner = "Replication/shop/app"
	b, _ := Desired(src, o)
	if Hash(a) == Hash(b) {
		t.Fatal("another owner must change the hash, so that the copy records it")
	}
}

func TestHashIgnoresItsOwnAnnotationAndLeavesTheObjectAlone(t *testing.T) {
	d, _ := Desired(readObject(t, "testdata/configmap/input.yaml"), standby)
	recorded := d.GetAnnotations()[keys.AnnotationSpecHash]
	if recorded == "" || Hash(d) != recorded {
		t.Fatalf("the hash of a copy that carries its hash (%q) is that hash, got %q", recorded, Hash(d))
	}
	if d.GetAnnotations()[keys.AnnotationSpecHash] != recorded {
		t.Fatal("Hash removed the annotation from the object it hashed")
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"patch path missing", with(standby, func(o *Options) {
			o.Patches = []Patch{{Op: "replace", Path: "/spec/nothing/here", Value: []byte(`1`)}}
		}), "patch does not apply"},
		{"patch changes identity", with(standby, func(o *Options) {
			o.Patches = []Patch{{Op: "replace", Path: "/metadata/name", Value: []byte(`"other"`)}}
		}), "changed the identity"},
		{"unknown replicas mode", with(standby, func(o *Options) { o.Replicas = "Many" }), "unknown replicas mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Desired(readObject(t, "testdata/deployment/input.yaml"), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func with(o Options, mut func(*Options)) Options {
	mut(&o)
	return o
}

func FuzzDesired(f *testing.F) {
	for _, name := range []string{"deployment", "service-loadbalancer", "cronjob"} {
		b, err := os.ReadFile(filepath.Join("testdata", name, "input.yaml"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "shop-dr", "/spec/x")
	}
	f.Fuzz(func(t *testing.T, doc []byte, ns, patchPath string) {
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return
		}
		src := &unstructured.Unstructured{}
		if src.UnmarshalJSON(j) != nil || src.Object["metadata"] == nil {
			return
		}
		opts := standby
		opts.TargetNamespace = ns
		opts.Patches = []Patch{{Op: "add", Path: patchPath, Value: []byte(`1`)}}
		out, err := Desired(src, opts)
		if err != nil {
			return
		}
		if out.GetNamespace() != ns || out.GetName() != src.GetName() {
			t.Fatalf("identity changed: %s/%s", out.GetNamespace(), out.GetName())
		}
		if _, ok := out.Object["status"]; ok {
			t.Fatal("status survived")
		}
	})
}

// A CronJob already suspended on the source must stay suspended after a promotion, so its own
// suspend is recorded next to the standby one.
func TestCronJobRecordsSourceSuspend(t *testing.T) {
	for _, suspended := range []bool{false, true} {
		src := readObject(t, "testdata/cronjob/input.yaml")
		_ = unstructured.SetNestedField(src.Object, suspended, "spec", "suspend")
		out, err := Desired(src, standby)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := out.GetAnnotations()[keys.AnnotationSourceSuspend], strconv.FormatBool(suspended); got != want {
			t.Errorf("source suspend %v: annotation %q, want %q", suspended, got, want)
		}
		if s, _, _ := unstructured.NestedBool(out.Object, "spec", "suspend"); !s {
			t.Errorf("source suspend %v: the DR copy is not suspended", suspended)
		}
	}
}

func TestSourceRefRoundTrip(t *testing.T) {
	c, ns, n, ok := ParseSourceRef(SourceRef("source", "shop", "web"))
	if !ok || c != "source" || ns != "shop" || n != "web" {
		t.Fatalf("ParseSourceRef(SourceRef(...)) = %q %q %q %v", c, ns, n, ok)
	}
	if _, _, _, ok := ParseSourceRef("not-a-ref"); ok {
		t.Fatal("a value without two slashes is not a source reference")
	}
}
