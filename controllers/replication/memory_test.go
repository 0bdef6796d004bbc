package replication

import (
	"testing"
	"time"

	"github.com/drsyncer/dr-syncer/pkg/clusters"
)

// A reconnect (a changed Secret, a new identity) gives a cluster a new ID: nothing remembered
// under the old one is kept, and other clusters' entries are left alone.
func TestMemoryForgetsAPreviousConnection(t *testing.T) {
	m := newMemory()
	old, other := &clusters.Cluster{Name: "dr", ID: "dr#1"}, &clusters.Cluster{Name: "dr2", ID: "dr2#2"}
	m.observe(old)
	m.observe(other)
	m.knownNamespaces["dr#1/shop-dr"], m.createdNamespaces["dr#1/shop-dr"] = true, true
	m.copies.begin("prod", "dr#1").put("/ConfigMap/shop-dr/a", copyState{liveVersion: "5"})
	m.knownNamespaces["dr2#2/shop-dr"] = true
	m.copies.begin("prod", "dr2#2").put("/ConfigMap/shop-dr/a", copyState{liveVersion: "7"})

	m.observe(old) // the same connection: nothing forgotten
	if m.copies.size() != 2 || len(m.knownNamespaces) != 2 {
		t.Fatalf("the same connection forgot entries: %d copies, %v", m.copies.size(), m.knownNamespaces)
	}
	m.observe(&clusters.Cluster{Name: "dr", ID: "dr#3"})
	if _, ok := m.copies.begin("prod", "dr#1").get("/ConfigMap/shop-dr/a"); ok || m.knownNamespaces["dr#1/shop-dr"] || m.createdNamespaces["dr#1/shop-dr"] {
		t.Fatal("entries of the previous connection survived a reconnect")
	}
	if _, ok := m.copies.begin("prod", "dr2#2").get("/ConfigMap/shop-dr/a"); !ok || !m.knownNamespaces["dr2#2/shop-dr"] {
		t.Fatal("another cluster's entries were forgotten")
	}
}

// A complete pass forgets the copies it no longer wants (a source deleted under Retain keeps its
// copy on DR, not its entry); a deleted replication's books go, another's stay.
func TestCopyMemoryIsFreed(t *testing.T) {
	m := newCopyMemory()
	first := m.begin("prod", "dr#1")
	first.put("a", copyState{liveVersion: "1"})
	first.put("b", copyState{liveVersion: "2"})
	first.put("gone", copyState{liveVersion: "3"})
	first.drop("gone")
	first.sweep()
	if m.size() != 2 {
		t.Fatalf("a pass swept what it had just recorded: %d copies", m.size())
	}
	second := m.begin("prod", "dr#1")
	if _, ok := second.get("a"); !ok {
		t.Fatal("the next pass does not find a copy")
	}
	second.put("c", copyState{})
	second.sweep()
	if _, ok := second.get("b"); ok || m.size() != 2 {
		t.Fatalf("a copy no pass wants any more is remembered: %d copies", m.size())
	}
	m.begin("shop/app", "dr#1").put("a", copyState{})
	m.forgetReplication("prod")
	if m.size() != 1 {
		t.Fatalf("a deleted replication's copies are remembered: %d copies", m.size())
	}
}

func TestScheduledRetriesBackOff(t *testing.T) {
	m := newMemory()
	now := time.Date(2026, 12, 4, 4, 0, 0, 0, time.UTC)
	if !m.retryAt("prod").IsZero() {
		t.Fatal("a retry before any failure")
	}
	first := m.scheduleRetry("prod", now)
	second := m.scheduleRetry("prod", now)
	if first.Sub(now) != 10*time.Second || second.Sub(now) != 20*time.Second || !m.retryAt("prod").Equal(second) {
		t.Fatalf("retries at %s and %s, want +10s and +20s", first.Sub(now), second.Sub(now))
	}
	m.clearRetry("prod")
	if !m.retryAt("prod").IsZero() {
		t.Fatal("a success keeps the retry")
	}
}
