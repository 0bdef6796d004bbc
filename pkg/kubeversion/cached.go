package kubeversion

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/version"
)

// Cached asks a server for its version at most once a minute, and keeps the last answer while
// the server does not answer.
type Cached struct {
	// Server answers the version (a discovery client); nil: unknown.
	Server interface {
		ServerVersion() (*version.Info, error)
	}

	mu      sync.Mutex
	info    *version.Info
	checked time.Time
}

// Get is the server's version, nil when it has never answered.
func (c *Cached) Get() *version.Info {
	if c == nil || c.Server == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.info == nil || time.Since(c.checked) >= time.Minute {
		if info, err := c.Server.ServerVersion(); err == nil {
			c.info, c.checked = info, time.Now()
		}
	}
	return c.info
}
