package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/sluicemail/sluice/stages/bayes"
)

// -scores writes one line per message scored: its group, the counts'
// Fisher score and the regression's margin, the two parts the stage
// joins. The regression learns from its own margin and the counts from
// their counts, so with feedback on every message neither depends on how
// they are joined, and every way of joining them can be measured from one
// run's lines (that is how the cap's threshold was chosen:
// bench/bayes/README.md). Lines are in stream order.

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

// writeScore records one message's score; a no-op without -scores.
func writeScore(x *msg, res bayes.Result) {
	if scoresOut != nil {
		fmt.Fprintf(scoresOut, "%s %.17g %.17g\n", x.group, res.Fisher, res.Margin)
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
