package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sluicemail/sluice/server/auth"
)

func init() {
	register(&command{
		name:    "admin",
		summary: "admin listener: `admin token` prints a bearer token for the console's JSON APIs",
		run:     func(args []string) int { return runAdmin(args, os.Stdout, os.Stderr) },
	})
}

const adminUsage = `usage: sluice admin token [--config FILE | --data DIR]
Prints a new bearer token for the JSON APIs of the web console
(Authorization: Bearer TOKEN). Only its hash is kept, in DATA/admin-tokens;
delete its line there to revoke it.`

func runAdmin(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "token" {
		fmt.Fprintln(stderr, adminUsage)
		return 2
	}
	fs := flag.NewFlagSet("sluice admin token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataDirFlags(fs)
	if pos, err := parseInterspersed(fs, args[1:]); err != nil || len(pos) > 0 {
		fmt.Fprintln(stderr, adminUsage)
		return 2
	}
	dir, err := data()
	if err == nil {
		err = os.MkdirAll(dir, 0o700)
	}
	var tok string
	if err == nil {
		tok, err = auth.NewAdminToken(dir)
	}
	if err != nil {
		fmt.Fprintln(stderr, "sluice admin token:", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}
