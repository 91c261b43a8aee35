package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/migrate"
)

func init() { importers["postfix"] = runImportPostfix }

const importPostfixUsage = `usage: sluice import postfix [--config FILE | --data DIR] DIR

Read a copy of the old server's /etc/postfix in DIR: main.cf and the
virtual_alias_maps it names (paths under its config_directory are read
from DIR) become sluice aliases and catch-alls. Every other setting sluice
does not translate yet (access maps, header_checks, mynetworks, relayhost,
message_size_limit, alias_maps) is printed with its line and what to do
instead. Exit status 1 when an alias table or entry could not be imported.`

// postfixAliasTypes are the table types whose source file is the
// "key value" text postmap(1) reads.
var postfixAliasTypes = map[string]bool{"hash": true, "btree": true, "lmdb": true, "cdb": true, "dbm": true, "texthash": true}

func runImportPostfix(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sluice import postfix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, importPostfixUsage+"\n\nflags:"); fs.PrintDefaults() }
	data := dataDirFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	fail := func(err error) int { fmt.Fprintln(stderr, "sluice import postfix:", err); return 1 }
	dir, err := data()
	if err != nil {
		return fail(err)
	}
	f, err := os.Open(filepath.Join(pos[0], "main.cf"))
	if err != nil {
		return fail(err)
	}
	cf, bad, err := migrate.ParseMainCF(f)
	f.Close()
	if err != nil {
		return fail(err)
	}
	incomplete := false
	for _, b := range bad {
		incomplete = true
		fmt.Fprintf(stderr, "main.cf:%d: skipped: %s\n", b.Line, b.Err)
	}
	accounts, err := auth.Open(dir)
	if err != nil {
		return fail(err)
	}
	configDir := cf["config_directory"].Value
	for _, t := range migrate.Tables(cf["virtual_alias_maps"].Value) {
		if !postfixAliasTypes[t.Type] {
			incomplete = true
			fmt.Fprintf(stderr, "main.cf:%d: virtual_alias_maps %s:%s: not translated (%s tables: write the aliases with sluice user alias)\n",
				cf["virtual_alias_maps"].Line, t.Type, t.Path, t.Type)
			continue
		}
		if !importAliasTable(accounts, migrate.LocalPath(t.Path, configDir, pos[0]), stdout, stderr) {
			incomplete = true
		}
	}
	for _, note := range migrate.PostfixUntranslated(cf) {
		fmt.Fprintln(stdout, note)
	}
	if incomplete {
		return 1
	}
	return 0
}

// importAliasTable makes sluice aliases of one virtual(5) table; it
// reports whether every entry was imported.
func importAliasTable(accounts *auth.Accounts, path string, stdout, stderr io.Writer) bool {
	name := filepath.Base(path)
	entries, bad, err := migrate.ReadAliasTable(path)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		return false
	}
	ok := len(bad) == 0
	for _, b := range bad {
		fmt.Fprintf(stderr, "%s:%d: skipped: %s\n", name, b.Line, b.Err)
	}
	for _, e := range entries {
		if !strings.Contains(e.Key, "@") {
			ok = false
			fmt.Fprintf(stderr, "%s:%d: %s: not translated (a virtual alias domain: list it under domains: in the sluice config)\n", name, e.Line, e.Key)
			continue
		}
		if err := accounts.SetAlias(e.Key, e.Targets); err != nil {
			ok = false
			fmt.Fprintf(stderr, "%s:%d: %s: %v\n", name, e.Line, e.Key, err)
			continue
		}
		fmt.Fprintf(stdout, "alias %s -> %s (%s:%d)\n", e.Key, strings.Join(e.Targets, ", "), name, e.Line)
	}
	return ok
}
