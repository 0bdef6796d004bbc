package main

import (
	"strings"

	"github.com/go-logr/logr"
)

// stdlogWriter forwards the standard library logger into the structured logger.
type stdlogWriter struct{ logr.Logger }

func (w stdlogWriter) Write(p []byte) (int, error) {
	w.Info(strings.TrimSpace(string(p)), "source", "stdlog")
	return len(p), nil
}
