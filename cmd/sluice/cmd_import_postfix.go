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

const importPostfixUsage = `usage: sluice import postfix [--config FILE | --data DIR] [--rules-out OUT] DIR

Read a copy of the old server's /etc/postfix in DIR: main.cf and the maps
it names (paths under its config_directory are read from DIR; other
paths, such as /etc/aliases, from DIR when a file of that name is there).

  virtual_alias_maps, alias_maps  become sluice aliases and catch-alls
  access maps in smtpd_*_restrictions, mynetworks (with permit_mynetworks),
  header_checks, body_checks      become OUT/00-postfix.yaml, a rule file whose
                                  rules name their source file:line, and
                                  OUT/00-postfix_test.yaml, a rule test per
                                  source entry; both are checked here, and
                                  named to run before the other rule files
  relayhost, message_size_limit   are printed as sluice config settings
  reject_unauth_destination, ...  are printed as built in: sluice does them

Every line that could not be translated is printed with the reason. Exit
status 1 when anything was not translated or a generated test fails.`

// postfixAliasTypes are the table types whose source file is the
// "key value" text postmap(1) reads.
var postfixAliasTypes = map[string]bool{"hash": true, "btree": true, "lmdb": true, "cdb": true, "dbm": true, "texthash": true}

func runImportPostfix(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sluice import postfix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, importPostfixUsage+"\n\nflags:"); fs.PrintDefaults() }
	data := dataDirFlags(fs)
	out := fs.String("rules-out", "postfix-rules", "directory for the generated rule file and its tests")
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
	for _, t := range migrate.Tables(cf["alias_maps"].Value) {
		if !importLocalAliases(accounts, cf, t, pos[0], stdout, stderr) {
			incomplete = true
		}
	}
	g := migrate.TranslatePostfix(cf, pos[0])
	if !writeGenRules(g, *out, "postfix", "sluice import postfix", filepath.Join(pos[0], "main.cf"), stdout, stderr) {
		incomplete = true
	}
	for _, c := range g.Covered {
		fmt.Fprintln(stdout, "built in:", c)
	}
	for _, c := range g.Config {
		fmt.Fprintln(stdout, "config:", c)
	}
	notes := append(g.Untranslated, migrate.PostfixUntranslated(cf)...)
	for _, note := range notes {
		fmt.Fprintln(stdout, note)
	}
	if incomplete || len(notes) > 0 {
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

// importLocalAliases makes sluice aliases of an aliases(5) file: each
// name at each domain of mydestination.
func importLocalAliases(accounts *auth.Accounts, cf map[string]migrate.PostfixSetting, t migrate.PostfixTable, dir string, stdout, stderr io.Writer) bool {
	line := cf["alias_maps"].Line
	if !postfixAliasTypes[t.Type] {
		fmt.Fprintf(stderr, "main.cf:%d: alias_maps %s:%s: not translated (%s tables: write the aliases with sluice user alias)\n", line, t.Type, t.Path, t.Type)
		return false
	}
	domains := migrate.LocalDomains(cf)
	if len(domains) == 0 {
		fmt.Fprintf(stderr, "main.cf:%d: alias_maps: not translated (mydestination names no domain but localhost)\n", line)
		return false
	}
	path := migrate.TablePath(t.Path, cf["config_directory"].Value, dir)
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "main.cf:%d: alias_maps: %v\n", line, err)
		return false
	}
	defer f.Close()
	entries, bad, err := migrate.ParseAliases(f)
	name := filepath.Base(path)
	ok := err == nil && len(bad) == 0
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
	}
	for _, b := range bad {
		fmt.Fprintf(stderr, "%s:%d: skipped: %s\n", name, b.Line, b.Err)
	}
	for _, e := range entries {
		for _, d := range domains {
			targets, err := migrate.AliasTargets(e.Targets, d)
			if err == nil {
				err = accounts.SetAlias(e.Key+"@"+d, targets)
			}
			if err != nil {
				ok = false
				fmt.Fprintf(stderr, "%s:%d: %s: not translated (%v)\n", name, e.Line, e.Key, err)
				break
			}
			fmt.Fprintf(stdout, "alias %s@%s -> %s (%s:%d)\n", e.Key, d, strings.Join(targets, ", "), name, e.Line)
		}
	}
	return ok
}
