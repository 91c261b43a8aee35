package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/sluicemail/sluice/stages/bayes"
)

// -scores writes one line per message scored: its group, the counts'
// Fisher score and the regression's margin, the two parts the stage
// joins, the joined score, and how many of the message's tokens the
// counts knew of how many (the share the join's KnownFrom reads). The regression learns from its own margin and the counts from
// their counts, so with feedback on every message neither depends on how
// they are joined, and every way of joining them can be measured from one
// run's lines (that is how the cap's threshold was chosen:
// bench/bayes/README.md). Lines are in stream order.

// besideName is -beside: a compression model (ppm.go) run beside the
// stage's learner, on the same stream, learning what it learns.
var besideName string

// besideJoin is -beside-join: the name of a join (join.go) of the stage's
// score and the compression model's, which the online run then reports
// and corrects on (with -feedback errors, the user sees the joined
// score; with feedback on every message it changes nothing learnt).
var besideJoin string

var scoresFile *os.File
var scoresOut *bufio.Writer

func openScores(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	scoresFile, scoresOut = f, bufio.NewWriter(f)
	return nil
}

// writeScore records one message's score; a no-op without -scores. After
// the group, the Fisher score and the margin come the stage's joined
// score, the known and all tokens, and then extra's numbers (with
// -beside: the compression model's difference D and its calibrated
// score).
func writeScore(x *msg, res bayes.Result, extra ...float64) {
	if scoresOut != nil {
		fmt.Fprintf(scoresOut, "%s %.17g %.17g %.17g %d %d", x.group, res.Fisher, res.Margin, res.Spam, res.Known, res.Tokens)
		for _, v := range extra {
			fmt.Fprintf(scoresOut, " %.17g", v)
		}
		fmt.Fprintln(scoresOut)
	}
}

// closeScores flushes and closes the file.
func closeScores() error {
	if scoresOut == nil {
		return nil
	}
	if err := scoresOut.Flush(); err != nil {
		return err
	}
	return scoresFile.Close()
}
