package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sluicemail/sluice/server/migrate"
)

func init() { importers["spamassassin"] = runImportSpamAssassin }

const importSpamAssassinUsage = `usage: sluice import spamassassin [--config FILE] [--rules-out OUT] LOCAL.CF

Read SpamAssassin's local.cf and write OUT/00-spamassassin.yaml, a rule
file whose lists and rules name their local.cf line, and
OUT/00-spamassassin_test.yaml, a rule test per entry; both are checked
here, and named to run before the other rule files.

  whitelist_from, blacklist_from  lists (or, for other globs, rules) worth
  (and welcomelist/blocklist)     -100 and +100, as SpamAssassin scored them
  whitelist_auth                  -100 when SPF or DKIM vouches for the sender
  whitelist_from_rcvd             -100 when the client's reverse DNS is in
                                  the relay domain
  unwhitelist_from ...            removes what an earlier line added
  required_score                  mail scoring that much goes to Junk
  trusted_networks                a list for your rules

Every other line is printed with the reason. Exit status 1 when a line
was not translated or a generated test fails.`

func runImportSpamAssassin(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sluice import spamassassin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, importSpamAssassinUsage+"\n\nflags:"); fs.PrintDefaults() }
	fs.String("config", "", "the sluice config (accepted as every import takes it; the rules go to --rules-out)")
	out := fs.String("rules-out", "spamassassin-rules", "directory for the generated rule file and its tests")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	f, err := os.Open(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, "sluice import spamassassin:", err)
		return 1
	}
	defer f.Close()
	g, err := migrate.TranslateSpamAssassin(f, filepath.Base(pos[0]))
	if err != nil {
		fmt.Fprintln(stderr, "sluice import spamassassin:", err)
		return 1
	}
	ok := writeGenRules(g, *out, "spamassassin", "sluice import spamassassin", pos[0], stdout, stderr)
	for _, note := range g.Untranslated {
		fmt.Fprintln(stdout, note)
	}
	if !ok || len(g.Untranslated) > 0 {
		return 1
	}
	return 0
}
