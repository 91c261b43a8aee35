package engine

import (
	"fmt"
	"testing"
	"time"
)

// TestLimitedWarn: a failure on every message gives one line per
// interval, and the next line counts the ones left out.
func TestLimitedWarn(t *testing.T) {
	clock := time.Unix(1_800_000_000, 0)
	var lines []string
	l := limitedWarn{now: func() time.Time { return clock },
		emit: func(msg string, args ...any) { lines = append(lines, fmt.Sprint(append([]any{msg}, args...)...)) }}
	for i := 0; i < 500; i++ {
		l.warn("rate limit state failed", "key", i)
		clock = clock.Add(10 * time.Millisecond) // 5 s in all
	}
	if len(lines) != 1 {
		t.Fatalf("%d lines in 5 s, want 1: %q", len(lines), lines)
	}
	clock = clock.Add(warnInterval)
	l.warn("rate limit state failed", "key", 500)
	if len(lines) != 2 || lines[1] != fmt.Sprint("rate limit state failed", "key", 500, "left_out", 499) {
		t.Fatalf("after the interval: %q", lines)
	}
	clock = clock.Add(warnInterval)
	l.warn("rate limit state failed", "key", 501)
	if len(lines) != 3 || lines[2] != fmt.Sprint("rate limit state failed", "key", 501) {
		t.Fatalf("nothing left out: %q", lines)
	}
}
