package mirror

import (
	"maps"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/drsyncer/dr-syncer/pkg/readiness"
)

// CopyState is what is known of one DR copy: the source and DR versions at which the copy was
// last seen to match the source, under which replication generation.
type CopyState struct {
	SourceVersion, LiveVersion string
	Generation                 int64
	// Needs is what the copy needs on DR to run (failover readiness), from its last desired state.
	Needs []readiness.Ref
	// pass is the target pass that last wanted the copy; a complete pass sweeps the others.
	pass uint32
}

// CopyMemory holds the known copies of each replication's target, per connection. It is freed
// with the replication, with a connection, and of the copies a complete pass no longer wants
// (a source deleted under Retain keeps its copy on DR, not its entry here).
type CopyMemory struct {
	mu      sync.Mutex
	targets map[copyBookKey]*CopyBook
}

// copyBookKey names one replication's copies on one connection of a DR cluster.
type copyBookKey struct{ ref, connection string }

// CopyBook is one replication's copies on one target, keyed by CopyKey.
type CopyBook struct {
	mem    *CopyMemory
	pass   uint32
	copies map[string]CopyState
}

// CopyKey keys a copy in its book (which is per connection).
func CopyKey(gk schema.GroupKind, namespace, name string) string {
	return gk.String() + "/" + namespace + "/" + name
}

func NewCopyMemory() *CopyMemory { return &CopyMemory{targets: map[copyBookKey]*CopyBook{}} }

// Begin opens the book of a target pass: what the pass reads or records is stamped as wanted.
func (m *CopyMemory) Begin(ref, connection string) *CopyBook {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := copyBookKey{ref, connection}
	b := m.targets[k]
	if b == nil {
		b = &CopyBook{mem: m, copies: map[string]CopyState{}}
		m.targets[k] = b
	}
	b.pass++
	return b
}

// ForgetReplication drops every book of a replication that is gone.
func (m *CopyMemory) ForgetReplication(ref string) {
	m.forget(func(k copyBookKey) bool { return k.ref == ref })
}

// ForgetConnection drops every book kept under a DR cluster's previous connection.
func (m *CopyMemory) ForgetConnection(connection string) {
	m.forget(func(k copyBookKey) bool { return k.connection == connection })
}

func (m *CopyMemory) forget(match func(copyBookKey) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	maps.DeleteFunc(m.targets, func(k copyBookKey, _ *CopyBook) bool { return match(k) })
}

// Size is the number of copies remembered.
func (m *CopyMemory) Size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, b := range m.targets {
		n += len(b.copies)
	}
	return n
}

// Get returns what is known of a copy, and marks it as wanted by this pass.
func (b *CopyBook) Get(key string) (CopyState, bool) {
	b.mem.mu.Lock()
	defer b.mem.mu.Unlock()
	st, ok := b.copies[key]
	if ok && st.pass != b.pass {
		st.pass = b.pass
		b.copies[key] = st
	}
	return st, ok
}

// Put records a copy as seen by this pass.
func (b *CopyBook) Put(key string, st CopyState) {
	b.mem.mu.Lock()
	defer b.mem.mu.Unlock()
	st.pass = b.pass
	b.copies[key] = st
}

// Drop forgets a copy.
func (b *CopyBook) Drop(key string) {
	b.mem.mu.Lock()
	defer b.mem.mu.Unlock()
	delete(b.copies, key)
}

// Sweep forgets the copies this pass did not want: call it only after a pass that planned every
// kind, or copies of a kind it skipped would be compared again next time (correct, but slower).
func (b *CopyBook) Sweep() {
	b.mem.mu.Lock()
	defer b.mem.mu.Unlock()
	for k, st := range b.copies {
		if st.pass != b.pass {
			delete(b.copies, k)
		}
	}
}
