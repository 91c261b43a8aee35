package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/sluicemail/sluice/rules"
)

func init() {
	register(&command{name: "test", summary: "run the rule tests (*_test.yaml) of a rule directory", run: runRuleTests})
}

func runRuleTests(args []string) int {
	fs := newFlags("test", "[flags] [DIR]", "Run every rule test (*_test.yaml) in DIR (default "+defaultRulesDir+");\nexit 1 if any test fails or the rules do not load.")
	dataDir := fs.String("data", "", "data directory (for the Bayes model)")
	verbose := fs.Bool("v", false, "print passing tests too")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	quietLogs()
	dir := defaultRulesDir
	if fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	set, err := rules.Load(dir, rules.Options{DataDir: *dataDir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	failed := 0
	for _, r := range set.RunTests(context.Background()) {
		if r.Passed() {
			if *verbose {
				fmt.Printf("ok   %s:%d %s\n", r.Case.File, r.Case.Line, r.Case.Name)
			}
			continue
		}
		failed++
		fmt.Printf("FAIL %s:%d %s\n", r.Case.File, r.Case.Line, r.Case.Name)
		for _, f := range r.Failures {
			fmt.Printf("     %s\n", f)
		}
		fmt.Printf("     rules fired: %s\n", orNone(r.Verdict.Rules()))
		if len(r.Verdict.Stages) > 0 {
			fmt.Printf("     stages: %s\n", strings.Join(r.Verdict.Stages, ", "))
		}
	}
	fmt.Printf("%d passed, %d failed\n", len(set.Tests)-failed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}
