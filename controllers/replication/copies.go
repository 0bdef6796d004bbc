package replication

import (
	"maps"
	"sync"
)

// copyState is what the controller knows of one DR copy: the source and DR versions at which the
// copy was last seen to match the source, under which replication generation.
type copyState struct {
	sourceVersion, liveVersion string
	generation                 int64
	// pass is the target pass that last wanted the copy; a complete pass sweeps the others.
	pass uint32
}

// copyMemory holds the known copies of each replication's target, per connection. It is freed
// with the replication, with a connection, and of the copies a complete pass no longer wants
// (a source deleted under Retain keeps its copy on DR, not its entry here).
type copyMemory struct {
	mu      sync.Mutex
	targets map[copyBookKey]*copyBook
}

// copyBookKey names one replication's copies on one connection of a DR cluster (Cluster.ID).
type copyBookKey struct{ ref, connection string }

// copyBook is one replication's copies on one target, keyed by kind/namespace/name.
type copyBook struct {
	mem    *copyMemory
	pass   uint32
	copies map[string]copyState
}

func newCopyMemory() *copyMemory { return &copyMemory{targets: map[copyBookKey]*copyBook{}} }

// begin opens the book of a target pass: what the pass reads or records is stamped as wanted.
func (m *copyMemory) begin(ref, connection string) *copyBook {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := copyBookKey{ref, connection}
	b := m.targets[k]
	if b == nil {
		b = &copyBook{mem: m, copies: map[string]copyState{}}
		m.targets[k] = b
	}
	b.pass++
	return b
}

// forgetReplication drops every book of a replication that is gone.
func (m *copyMemory) forgetReplication(ref string) {
	m.forget(func(k copyBookKey) bool { return k.ref == ref })
}

// forgetConnection drops every book kept under a DR cluster's previous connection.
func (m *copyMemory) forgetConnection(connection string) {
	m.forget(func(k copyBookKey) bool { return k.connection == connection })
}

func (m *copyMemory) forget(match func(copyBookKey) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	maps.DeleteFunc(m.targets, func(k copyBookKey, _ *copyBook) bool { return match(k) })
}

// size is the number of copies remembered, for tests.
func (m *copyMemory) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, b := range m.targets {
		n += len(b.copies)
	}
	return n
}

// get returns what is known of a copy, and marks it as wanted by this pass.
func (b *copyBook) get(key string) (copyState, bool) {
	b.mem.mu.Lock()
	defer b.mem.mu.Unlock()
	st, ok := b.copies[key]
	if ok && st.pass != b.pass {
		st.pass = b.pass
		b.copies[key] = st
	}
	return st, ok
}

func (b *copyBook) put(key string, st copyState) {
	b.mem.mu.Lock()
	defer b.mem.mu.Unlock()
	st.pass = b.pass
	b.copies[key] = st
}

func (b *copyBook) drop(key string) {
	b.mem.mu.Lock()
	defer b.mem.mu.Unlock()
	delete(b.copies, key)
}

// sweep forgets the copies this pass did not want: call it only after a pass that planned every
// kind, or copies of a kind it skipped would be compared again next time (correct, but slower).
func (b *copyBook) sweep() {
	b.mem.mu.Lock()
	defer b.mem.mu.Unlock()
	for k, st := range b.copies {
		if st.pass != b.pass {
			delete(b.copies, k)
		}
	}
}
