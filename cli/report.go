package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// printPlan prints what a promote or demote would do (--dry-run).
func (o *options) printPlan(run *failoverRun, touchesReplication bool) error {
	fmt.Fprintf(o.out, "%s %s on target %s (dry run: nothing is changed)\n", run.verb, run.name, run.target)
	switch {
	case run.unreachable != "":
		fmt.Fprintf(o.out, "replication: %s\n", run.replication)
	case touchesReplication:
		fmt.Fprintf(o.out, "replication: would be %s\n", run.replication)
	}
	o.printItems("source", run.source)
	o.printItems("DR", run.copies)
	fmt.Fprintf(o.out, "%d DR cop%s to change, %d already done\n", len(run.copies), pluralY(len(run.copies)), run.untouched)
	return nil
}

// report prints what a promote or demote did and how long it took.
func (o *options) report(run *failoverRun) {
	took := time.Since(run.start).Round(time.Millisecond)
	changed, failed := 0, 0
	for _, p := range run.copies {
		if p.err != nil {
			failed++
		} else {
			changed++
		}
	}
	fmt.Fprintf(o.out, "%s of %s on target %s finished in %s (API-side time, from the first request to the last write)\n", run.verb, run.name, run.target, took)
	fmt.Fprintf(o.out, "replication: %s\n", run.replication)
	o.printItems("source", run.source)
	o.printItems("DR", run.copies)
	fmt.Fprintf(o.out, "%d DR cop%s changed, %d already done, %d failed\n", changed, pluralY(changed), run.untouched, failed)
}

// printItems prints one line per object, sorted, with its changes or its error.
func (o *options) printItems(side string, items []*planned) {
	lines := make([]string, 0, len(items))
	for _, p := range items {
		what := strings.Join(p.step.Changes, ", ")
		if p.err != nil {
			what = "FAILED: " + p.err.Error()
		}
		lines = append(lines, fmt.Sprintf("  %s %s: %s", side, describe(p.obj), what))
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Fprintln(o.out, l)
	}
}

func pluralY(n int) string {
	if n == 1 {
		return "y"
	}
	return "ies"
}
