package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"
)

// progress draws a progress bar on a terminal, redrawn in place; elsewhere (logs, CI) it prints a
// line at every tenth of the work so that output stays readable.
type progress struct {
	w         io.Writer
	label     string
	total     int
	tty       bool
	mu        sync.Mutex
	done      int
	lastTenth int
}

func newProgress(w io.Writer, label string, total int) *progress {
	p := &progress{w: w, label: label, total: total}
	if f, ok := w.(*os.File); ok {
		p.tty = term.IsTerminal(int(f.Fd()))
	}
	return p
}

// inc counts one item done.
func (p *progress) inc() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if p.tty {
		const width = 30
		filled := width * p.done / max(p.total, 1)
		fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d", p.label, strings.Repeat("=", filled), strings.Repeat(" ", width-filled), p.done, p.total)
		return
	}
	if tenth := 10 * p.done / max(p.total, 1); tenth > p.lastTenth || p.done == p.total {
		p.lastTenth = tenth
		fmt.Fprintf(p.w, "%s: %d/%d\n", p.label, p.done, p.total)
	}
}

// note shows a free-form status (for work without a count), on terminals only.
func (p *progress) note(s string) {
	if p.tty {
		fmt.Fprintf(p.w, "\r%s… %s", p.label, s)
	}
}

// finish ends the line a terminal bar was drawn on.
func (p *progress) finish() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}
