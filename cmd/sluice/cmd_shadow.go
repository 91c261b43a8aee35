package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/sluicemail/sluice/server/journal"
	"github.com/sluicemail/sluice/server/shadow"
)

func init() {
	register(&command{
		name:    "shadow",
		summary: "the shadow rule set: report where it disagrees with the live one, promote it to live",
		run:     func(args []string) int { return runShadow(args, os.Stdout, os.Stderr) },
	})
}

const shadowUsage = "usage: sluice shadow report --config FILE [--since T] [--until T] [--json]\n       sluice shadow promote --config FILE"

func runShadow(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, shadowUsage)
		return 2
	}
	switch args[0] {
	case "report":
		return shadowReport(args[1:], stdout, stderr)
	case "promote":
		return shadowPromote(args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, shadowUsage)
	return 2
}

// shadowReport lists the journalled disagreements, then counts per
// (live, shadow) action.
func shadowReport(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("shadow report", "--config FILE [--since T] [--until T] [--json]", "List the messages on which the shadow rules disagreed with the live rules.")
	fs.SetOutput(stderr)
	loc := spoolFlags(fs, false)
	asJSON := fs.Bool("json", false, "one JSON object per disagreement, then a summary object")
	since := fs.String("since", "", "from this time on (2026-12-05, 2026-12-05T14:02, RFC 3339, or a duration such as 24h)")
	until := fs.String("until", "", "before this time")
	if rest, err := parseInterspersed(fs, args); err != nil || len(rest) > 0 {
		return 2
	}
	q := journal.Query{Kind: shadow.Kind}
	var err error
	now := time.Now()
	if q.Since, err = parseWhen(*since, now); err == nil {
		q.Until, err = parseWhen(*until, now)
	}
	if err != nil {
		fmt.Fprintln(stderr, "sluice shadow report:", err)
		return 2
	}
	w, err := loc()
	if err != nil {
		fmt.Fprintln(stderr, "sluice shadow report:", err)
		return 1
	}
	recs, err := journal.Find(journalDirOf(w.data), q, func(s string) { fmt.Fprintln(stderr, "warning:", s) })
	if err != nil {
		fmt.Fprintln(stderr, "sluice shadow report:", err)
		return 1
	}
	pairs := map[string]int{}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		pairs[r.Action+" -> "+r.Shadow.Action]++
		if *asJSON {
			enc.Encode(map[string]any{"id": r.Of, "message_id": r.MessageID, "time": r.Time, "envelope": r.Envelope,
				"live":   map[string]any{"action": r.Action, "rules": nonNil(r.Rules), "ruleset": r.RuleSet},
				"shadow": map[string]any{"action": r.Shadow.Action, "rules": nonNil(r.Shadow.Rules), "ruleset": r.Shadow.RuleSet, "unrecorded": r.Shadow.Unrecorded}})
			continue
		}
		fmt.Fprintf(stdout, "%s  %s  live %s (%s), shadow %s (%s)  <%s> -> %v  %s\n", r.Of, r.Time.Local().Format("2006-01-02 15:04:05"),
			r.Action, journal.RuleNames(r.Rules), r.Shadow.Action, journal.RuleNames(r.Shadow.Rules), r.Envelope.From, r.Envelope.Rcpt, r.Subject)
	}
	if *asJSON {
		enc.Encode(map[string]any{"summary": map[string]any{"disagreements": len(recs), "pairs": pairs}})
		return 0
	}
	fmt.Fprintf(stdout, "\n%d disagreements\n", len(recs))
	keys := make([]string, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "  live %s: %d\n", strings.Replace(k, " -> ", ", shadow ", 1), pairs[k])
	}
	return 0
}

// shadowPromote makes the shadow rules live by the normal path: they must
// compile (with the relay-safety proof) and pass their tests; the live
// directory is backed up, takes the shadow files, and the running server
// reloads (which compiles, tests and swaps again, keeping the old set on
// any failure).
func shadowPromote(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("shadow promote", "--config FILE", "Make the shadow rule set live: compile, run its tests, copy it over the live rules (backed up), reload.")
	fs.SetOutput(stderr)
	confPath := fs.String("config", "", "the server's config file")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}
	cfg, err := loadConfig(*confPath)
	if err != nil {
		fmt.Fprintln(stderr, "sluice shadow promote:", err)
		return 1
	}
	if cfg.ShadowRules == "" {
		fmt.Fprintln(stderr, "sluice shadow promote: the config names no shadow_rules")
		return 2
	}
	set, code := loadReplayRules(cfg, cfg.ShadowRules, stderr)
	if set == nil {
		return code
	}
	for _, r := range set.RunTests(context.Background()) {
		if !r.Passed() {
			fmt.Fprintf(stderr, "sluice shadow promote: rule test %s:%d %q fails: %s\n", r.Case.File, r.Case.Line, r.Case.Name, strings.Join(r.Failures, "; "))
			code = 1
		}
	}
	if code != 0 {
		return code
	}
	live, err := rulesDir(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "sluice shadow promote:", err)
		return 1
	}
	backup, err := promoteFiles(cfg.ShadowRules, live, cfg.Data)
	if err != nil {
		fmt.Fprintln(stderr, "sluice shadow promote:", err)
		return 1
	}
	fmt.Fprintf(stdout, "the rules of %s are now in %s (the old ones are in %s)\n", cfg.ShadowRules, live, backup)
	return reloadAfterPromote(cfg, stdout, stderr)
}
