package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/rules"
)

func init() {
	register(&command{name: "rules", summary: "lint a rule directory, or list the rule environment (lint|env)", run: runRules})
}

func runRules(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: sluice rules lint [DIR] | sluice rules env")
		return 2
	}
	switch args[0] {
	case "lint":
		return rulesLint(args[1:])
	case "env":
		return rulesEnv()
	}
	fmt.Fprintf(os.Stderr, "sluice rules: unknown subcommand %q (want lint or env)\n", args[0])
	return 2
}

// rulesLint compiles a directory and prints each error as
// file:line:col: rule "name": message.
func rulesLint(args []string) int {
	fs := newFlags("rules lint", "[DIR]", "Compile every rule file in DIR (default "+defaultRulesDir+") and report every error.")
	dataDir := fs.String("data", "", "data directory (for the Bayes model)")
	conf := fs.String("config", "", "the server's config: its local domains and redirects_allowed complete the relay-safety proof")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir := defaultRulesDir
	if fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	ropts, policy, err := lintOptions(*conf, *dataDir)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	set, err := rules.Load(dir, ropts)
	if err != nil {
		if errs := rules.Errors(err); len(errs) > 0 {
			for _, e := range errs {
				fmt.Println(e)
			}
		} else {
			fmt.Println(err)
		}
		return 1
	}
	for _, name := range set.Pipelines() {
		p := set.Pipeline(name)
		fmt.Printf("%s: %d rules, stages %v\n", name, len(p.Rules), stageNames(p))
	}
	fmt.Printf("ok: %d files, %d lists, %d tests\n", len(set.Files), len(set.Lists), len(set.Tests))
	printRelayProof(set, policy, *conf != "")
	return 0
}

func stageNames(p *engine.Pipeline) []string {
	var out []string
	for n := range p.Stages {
		out = append(out, n)
	}
	return sortedStrings(out)
}

func rulesEnv() int {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tMEANING")
	for _, f := range engine.Environment() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Name, f.Type, f.Doc)
	}
	tw.Flush()
	fmt.Println("\nAlso from expr: matches, contains, startsWith, endsWith, lower, upper, trim, len, any, all, none, one, filter, map, count, in, not, and, or.")
	return 0
}
