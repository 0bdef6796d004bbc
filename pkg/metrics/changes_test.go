package metrics

import (
	"testing"
	"time"
)

func TestChangesKeepTheFirstUntilHandled(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	c := NewChanges()
	c.Seen("ConfigMap/shop/a", t0)
	c.Seen("ConfigMap/shop/a", t0.Add(time.Second)) // a second event before the pass
	c.Seen("ConfigMap/shop/old", t0.Add(-time.Hour))
	if at, ok := c.Since("ConfigMap/shop/a"); !ok || !at.Equal(t0) {
		t.Fatalf("lag starts at %s, want the first event's %s", at, t0)
	}
	c.Handled([]string{"ConfigMap/shop/a"}, t0.Add(-10*time.Minute))
	if _, ok := c.Since("ConfigMap/shop/a"); ok {
		t.Fatal("a handled change is still pending")
	}
	if _, ok := c.Since("ConfigMap/shop/old"); ok {
		t.Fatal("a change no pass handled is kept for ever")
	}
}
