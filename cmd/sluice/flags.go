package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
)

// multiFlag collects a flag given several times (--to a --to b).
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

func (m *multiFlag) Set(v string) error {
	*m = append(*m, v)
	return nil
}

// newFlags returns a FlagSet whose usage line names the command.
func newFlags(name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: sluice %s %s\n\n%s\n\nflags:\n", name, args, summary)
		fs.PrintDefaults()
	}
	return fs
}

// defaultRulesDir is where the example rules live in a checkout; commands
// that take a rule directory use it when none is given.
const defaultRulesDir = "examples/rules"

func sortedStrings(s []string) []string {
	sort.Strings(s)
	return s
}

// quietLogs keeps the stages' informational logs (a DNS list that did not
// answer, for each message) out of a dry run's output: the facts already
// say it. Warnings and errors still show.
func quietLogs() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}
