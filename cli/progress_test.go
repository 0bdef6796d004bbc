package cli

import (
	"bytes"
	"strings"
	"testing"
)

// Off a terminal the progress prints a line per tenth of the work, and the last one always.
func TestProgressOffATerminal(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "promoting shop", 25)
	for range 25 {
		p.inc()
	}
	p.finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 10 || lines[len(lines)-1] != "promoting shop: 25/25" || lines[0] != "promoting shop: 3/25" {
		t.Fatalf("progress lines:\n%s", buf.String())
	}
}
