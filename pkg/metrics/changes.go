package metrics

import (
	"sync"
	"time"
)

// Changes remember when a change to a source object was first seen, until a pass has handled
// it: the start of its propagation lag. Keys are the caller's (kind/namespace/name).
type Changes struct {
	mu sync.Mutex
	at map[string]time.Time
}

func NewChanges() *Changes { return &Changes{at: map[string]time.Time{}} }

// Seen records a change at t, unless one is pending already: the lag runs from the first.
func (c *Changes) Seen(key string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, pending := c.at[key]; !pending {
		c.at[key] = t
	}
}

// Since is when the pending change of key was first seen.
func (c *Changes) Since(key string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.at[key]
	return t, ok
}

// Handled forgets the changes of keys, and any seen before stale (objects no pass handles), so
// that the memory never grows without bound.
func (c *Changes) Handled(keys []string, stale time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.at, k)
	}
	for k, t := range c.at {
		if t.Before(stale) {
			delete(c.at, k)
		}
	}
}
