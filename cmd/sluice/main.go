// Command sluice is the mail server and its tools: serve, check (dry run),
// test (rule tests), rules lint|env, train, reload, user, dkim, queue,
// quarantine and import. Each subcommand lives in its own cmd_*.go file and
// registers itself in init.
package main

import (
	"fmt"
	"os"
	"sort"

	_ "github.com/sluicemail/sluice/stages/all" // every check, registered under its namespace
)

// command is one subcommand. run returns the process exit status.
type command struct {
	name    string
	summary string
	run     func(args []string) int
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("duplicate command " + c.name)
	}
	commands[c.name] = c
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	c := commands[os.Args[1]]
	if c == nil {
		fmt.Fprintf(os.Stderr, "sluice: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	os.Exit(c.run(os.Args[2:]))
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: sluice COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'sluice COMMAND -h' for the flags of a command.")
}
