package mirror

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"
)

func doc(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDroppedFields(t *testing.T) {
	sent := `
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 0
  template:
    spec:
      resources: {limits: {cpu: "2"}}
      containers:
      - {name: a, image: x, restartPolicyRules: [{action: Restart}], securityContext: {}}
      - {name: b, image: y}
status: {replicas: 3}
`
	for _, tc := range []struct {
		name, kept string
		want       []string
	}{
		{"kept whole, with defaults added", `
metadata: {name: web, labels: {app: web}, uid: u}
spec:
  replicas: 0
  strategy: {type: RollingUpdate}
  template:
    spec:
      resources: {limits: {cpu: "2"}}
      containers:
      - {name: a, image: x, restartPolicyRules: [{action: Restart}], imagePullPolicy: Always}
      - {name: b, image: y}
`, nil},
		{"pod-level resources and a container field dropped, a container lost", `
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 0
  template:
    spec:
      containers:
      - {name: a, image: x}
`, []string{"spec.template.spec.containers[0].restartPolicyRules", "spec.template.spec.containers[1]", "spec.template.spec.resources"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DroppedFields(doc(t, sent), doc(t, tc.kept)); !slices.Equal(got, tc.want) {
				t.Fatalf("dropped %q, want %q", got, tc.want)
			}
		})
	}
}

// A write DR keeps without a field fails the copy, naming the field, unless the target accepts
// dropped fields; then the change says what the copy lacks.
func TestVerifyAfterWrite(t *testing.T) {
	desired := cm("src/shop/app", "h1", "blue", true)
	desired.Object["binaryData"] = map[string]any{"logo": "aGk="}
	kept := desired.DeepCopy()
	delete(kept.Object, "binaryData") // what an older server might keep
	for _, accept := range []bool{false, true} {
		e := &Engine{Client: fake.NewClientBuilder().WithObjects(kept).Build(), Writer: &recordingWriter{}, Verify: true, AcceptDropped: accept}
		c := e.Apply(context.Background(), desired, nil, Policy{Drift: DriftCorrect, LiveIsComplete: true})
		var dropped *DroppedError
		switch {
		case accept && (c.Action != ActionCreate || c.Dropped == nil || c.Dropped.Fields[0] != "binaryData"):
			t.Fatalf("accepted: %+v", c)
		case !accept && (c.Action != ActionFailed || !errors.As(c.Err, &dropped) || !strings.Contains(c.Err.Error(), "binaryData is not kept by the DR cluster")):
			t.Fatalf("not accepted: %+v", c)
		}
	}
}
