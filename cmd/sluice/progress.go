package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// progress draws a one-line progress bar on stderr when stderr is a
// terminal, at most ten times a second; elsewhere it prints nothing, so
// that piped and JSON output stays clean.
type progress struct {
	label string
	total int
	done  int
	on    bool
	last  time.Time
	start time.Time
}

func newProgress(label string, total int, enabled bool) *progress {
	on := enabled && term.IsTerminal(int(os.Stderr.Fd()))
	return &progress{label: label, total: total, on: on, start: time.Now()}
}

// add advances the bar by n.
func (p *progress) add(n int) {
	p.done += n
	if !p.on || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.draw()
}

func (p *progress) draw() {
	const width = 30
	frac := 0.0
	if p.total > 0 {
		frac = float64(p.done) / float64(p.total)
	}
	if frac > 1 {
		frac = 1
	}
	fill := int(frac * width)
	rate := float64(p.done) / time.Since(p.start).Seconds()
	fmt.Fprintf(os.Stderr, "\r%s [%s%s] %d/%d %.0f/s ", p.label,
		strings.Repeat("#", fill), strings.Repeat(" ", width-fill), p.done, p.total, rate)
}

// finish draws the final state and ends the line.
func (p *progress) finish() {
	if !p.on {
		return
	}
	p.draw()
	fmt.Fprintln(os.Stderr)
}

// isTerminal reports whether stderr is a terminal (where progress shows).
func isTerminal() bool { return term.IsTerminal(int(os.Stderr.Fd())) }
