package kubeversion

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/version"
)

type answers struct {
	calls int
	err   error
}

func (a *answers) ServerVersion() (*version.Info, error) {
	a.calls++
	if a.err != nil {
		return nil, a.err
	}
	return &version.Info{Major: "1", Minor: "33"}, nil
}

// The version is asked once a minute; a server that stops answering keeps its last answer, one
// that never answered is asked again at every call.
func TestCached(t *testing.T) {
	down := &answers{err: errors.New("down")}
	c := &Cached{Server: down}
	first, second := c.Get(), c.Get()
	if first != nil || second != nil || down.calls != 2 {
		t.Fatalf("a server that never answered: %d calls", down.calls)
	}
	up := &answers{}
	c = &Cached{Server: up}
	answered := c.Get()
	if answered == nil || c.Get() != answered || up.calls != 1 {
		t.Fatalf("asked %d times within the minute", up.calls)
	}
	if (&Cached{}).Get() != nil || (*Cached)(nil).Get() != nil {
		t.Fatal("no server has no version")
	}
}
