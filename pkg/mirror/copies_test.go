package mirror

import "testing"

// A complete pass forgets the copies it no longer wants (a source deleted under Retain keeps its
// copy on DR, not its entry); a deleted replication's books go, another's stay.
func TestCopyMemoryIsFreed(t *testing.T) {
	m := NewCopyMemory()
	first := m.Begin("prod", "dr#1")
	first.Put("a", CopyState{LiveVersion: "1"})
	first.Put("b", CopyState{LiveVersion: "2"})
	first.Put("gone", CopyState{LiveVersion: "3"})
	first.Drop("gone")
	first.Sweep()
	if m.Size() != 2 {
		t.Fatalf("a pass swept what it had just recorded: %d copies", m.Size())
	}
	second := m.Begin("prod", "dr#1")
	if _, ok := second.Get("a"); !ok {
		t.Fatal("the next pass does not find a copy")
	}
	second.Put("c", CopyState{})
	second.Sweep()
	if _, ok := second.Get("b"); ok || m.Size() != 2 {
		t.Fatalf("a copy no pass wants any more is remembered: %d copies", m.Size())
	}
	m.Begin("shop/app", "dr#1").Put("a", CopyState{})
	m.Begin("prod", "dr#2").Put("a", CopyState{})
	m.ForgetConnection("dr#2")
	if m.Size() != 3 {
		t.Fatalf("a previous connection's copies are remembered: %d copies", m.Size())
	}
	m.ForgetReplication("prod")
	if m.Size() != 1 {
		t.Fatalf("a deleted replication's copies are remembered: %d copies", m.Size())
	}
}
