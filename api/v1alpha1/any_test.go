package v1alpha1

import "testing"

func TestAnyReplication(t *testing.T) {
	cr := NewReplication(false).(*ClusterReplication)
	cr.Name = "prod"
	cr.Spec.Mode = ModeManual
	r := NewReplication(true).(*Replication)
	r.Name, r.Namespace = "app", "shop"
	if RefOf(cr) != "prod" || RefOf(r) != "shop/app" || KindOf(cr) != "ClusterReplication" || KindOf(r) != "Replication" {
		t.Fatalf("refs %q %q, kinds %q %q", RefOf(cr), RefOf(r), KindOf(cr), KindOf(r))
	}
	var any AnyReplication = cr
	if any.ReplicationSpec().Mode != ModeManual || any.ReplicationStatus() != &cr.Status || r.NamespaceSelector() != nil {
		t.Fatal("the accessors do not reach the object's own fields")
	}
}
