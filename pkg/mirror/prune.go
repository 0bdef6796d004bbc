package mirror

import (
	"context"
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drsyncer/dr-syncer/api/keys"
	"github.com/drsyncer/dr-syncer/pkg/transform"
)

// PruneOptions say what happens to the copies whose source a pass did not find.
type PruneOptions struct {
	// Mine says a copy without a source was written from this source cluster (others are left alone).
	Mine func(o metav1.Object) bool
	// Retain keeps every copy (deletionPolicy Retain).
	Retain bool
	// Terminating are the source namespaces being deleted or gone: their copies are never deleted.
	Terminating map[string]bool
	// Confirm reads the source: gone says the copy may be deleted. A source that merely lost its
	// replication label is not gone.
	Confirm func(ctx context.Context, copy *metav1.PartialObjectMetadata) (gone bool, err error)
}

// Budget is how many more copies a target may delete in a pass (prunes and replacements together)
// before the mass-delete breaker holds.
type Budget struct {
	mu   sync.Mutex
	left int
}

func NewBudget(n int) *Budget { return &Budget{left: n} }

// Take spends n deletes when that many are left.
func (b *Budget) Take(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.left {
		return false
	}
	b.left -= n
	return true
}

// Remaining is the number of deletes left.
func (b *Budget) Remaining() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.left
}

// PrunePlan sorts the copies without a source: those kept whatever the source says, and the
// candidates for deletion.
type PrunePlan struct {
	Kept       []Change
	Candidates []*metav1.PartialObjectMetadata
	// Terminating counts the copies kept per source namespace being deleted.
	Terminating map[string]int
}

// PlanPrune decides what no read can change. Never deleted: a copy being deleted already (held by
// finalizers on DR; not counted again), a promoted copy, the copies of a source namespace being
// deleted, and any copy under deletionPolicy Retain.
func PlanPrune(orphans []*metav1.PartialObjectMetadata, o PruneOptions) PrunePlan {
	plan := PrunePlan{Terminating: map[string]int{}}
	for _, c := range orphans {
		_, srcNS, _, _ := transform.ParseSourceRef(c.GetAnnotations()[keys.AnnotationSource])
		switch {
		case c.GetDeletionTimestamp() != nil:
		case IsPromoted(c):
			plan.Kept = append(plan.Kept, changeOf(c, ActionPromoted))
		case o.Terminating[srcNS]:
			plan.Terminating[srcNS]++
			plan.Kept = append(plan.Kept, changeOf(c, ActionRetain))
		case o.Retain:
			plan.Kept = append(plan.Kept, changeOf(c, ActionRetain))
		default:
			plan.Candidates = append(plan.Candidates, c)
		}
	}
	return plan
}

func changeOf(o *metav1.PartialObjectMetadata, a Action) Change {
	return Change{GroupKind: o.GroupVersionKind().GroupKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Action: a}
}

// prune deletes the copies whose source is confirmed gone, unless the mass-delete breaker holds:
// then none is deleted and every candidate is kept. A mass delete is held before the source is
// read for each: reading it at every pass would only load the source.
func (p *Pass) prune(ctx context.Context, orphans []*metav1.PartialObjectMetadata, budget *Budget, cs *ChangeSet) {
	plan := PlanPrune(orphans, p.Prune)
	cs.Changes = append(cs.Changes, plan.Kept...)
	cs.Kept = plan.Terminating
	if len(plan.Candidates) > budget.Remaining() {
		p.hold(plan.Candidates, budget, cs)
		return
	}
	var confirmed []*metav1.PartialObjectMetadata
	for _, o := range plan.Candidates {
		switch gone, err := p.Prune.Confirm(ctx, o); {
		case err != nil:
			c := changeOf(o, ActionFailed)
			c.Err = fmt.Errorf("kept: cannot confirm that its source is gone: %w", err)
			cs.Changes = append(cs.Changes, c)
		case gone:
			confirmed = append(confirmed, o)
		default:
			// Only the label was lost: the copy stays and the next pass sees the object again.
			cs.Changes = append(cs.Changes, changeOf(o, ActionUnchanged))
		}
	}
	if len(confirmed) == 0 {
		return
	}
	if !budget.Take(len(confirmed)) {
		p.hold(confirmed, budget, cs)
		return
	}
	for _, o := range confirmed {
		cs.Changes = append(cs.Changes, p.Engine.Delete(ctx, o))
		p.Book.Drop(CopyKey(o.GroupVersionKind().GroupKind(), o.GetNamespace(), o.GetName()))
	}
}

func (p *Pass) hold(waiting []*metav1.PartialObjectMetadata, budget *Budget, cs *ChangeSet) {
	cs.Held, cs.HeldBudget = len(waiting), budget.Remaining()
	for _, o := range waiting {
		cs.Changes = append(cs.Changes, changeOf(o, ActionRetain))
	}
}
