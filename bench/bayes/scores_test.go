package main

import (
	"path/filepath"
	"testing"

	"github.com/sluicemail/sluice/stages/bayes"
)

// TestScoresRoundTrip: what -scores writes with -beside, -join reads back:
// the stage's joined score and the compression model's two numbers, in
// their columns after the known-token counts.
func TestScoresRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scores.txt")
	if err := openScores(path); err != nil {
		t.Fatal(err)
	}
	defer func() { scoresOut, scoresFile = nil, nil }()
	in := []struct {
		x    msg
		res  bayes.Result
		d, p float64
	}{
		{msg{group: "spam-2"}, bayes.Result{Fisher: 0.97, Margin: 2.5, Spam: 0.9876543210123, Known: 180, Tokens: 240}, 0.125, 0.75},
		{msg{group: "hard-ham-1"}, bayes.Result{Fisher: 0.2, Margin: -1, Spam: 1e-7, Known: 3, Tokens: 9}, -0.5, 0.01},
	}
	for _, c := range in {
		writeScore(&c.x, c.res, c.d, c.p)
	}
	if err := closeScores(); err != nil {
		t.Fatal(err)
	}
	got, err := readScored(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in) {
		t.Fatalf("read %d lines, want %d", len(got), len(in))
	}
	for i, c := range in {
		want := scored{group: c.x.group, spam: c.x.group == "spam-2", s: c.res.Spam, d: c.d, p: c.p}
		if got[i] != want {
			t.Errorf("line %d: read %+v, want %+v", i+1, got[i], want)
		}
	}
}
