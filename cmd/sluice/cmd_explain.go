package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sluicemail/sluice/server/journal"
)

func init() {
	register(&command{
		name:    "explain",
		summary: "tell why a message got its verdict, from the verdict journal",
		run:     func(args []string) int { return runExplain(args, os.Stdout, os.Stderr) },
	})
}

const explainArgs = "[--config FILE | --data DIR] [--json] [ID|MESSAGE-ID] [--from A] [--to A] [--ip IP] [--since T] [--until T] [--action A]"

// runExplain finds journal records by ID (journal ID, session ID from
// our Received field, or Message-ID) or by query, and tells the story of
// the one found, or lists them when several match.
func runExplain(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("explain", explainArgs, "Tell why a message got its verdict: the connection, each check and the DNS answers it used, each rule that fired (file:line), the final action.")
	fs.SetOutput(stderr)
	loc := spoolFlags(fs, false)
	asJSON := fs.Bool("json", false, "print the records as JSON")
	qf := addQueryFlags(fs, true)
	keys, err := parseInterspersed(fs, args)
	if err != nil || len(keys) > 1 {
		fs.Usage()
		return 2
	}
	var key string
	if len(keys) == 1 {
		key = keys[0]
	}
	q, err := qf.query(key, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "sluice explain:", err)
		return 2
	}
	if q == (journal.Query{}) {
		fmt.Fprintln(stderr, "sluice explain: give a journal ID, a Message-ID, or a query (--from, --to, --ip, --since, --action)")
		return 2
	}
	w, err := loc()
	if err != nil {
		fmt.Fprintln(stderr, "sluice explain:", err)
		return 1
	}
	dir := journalDirOf(w.data)
	recs, err := journal.Explain(dir, q, func(s string) { fmt.Fprintln(stderr, "warning:", s) })
	if err != nil {
		fmt.Fprintln(stderr, "sluice explain:", err)
		return 1
	}
	if len(recs) == 0 {
		if key != "" {
			fmt.Fprintf(stderr, "sluice explain: no message with ID or Message-ID %q in the journal at %s\n", key, dir)
		} else {
			fmt.Fprintf(stderr, "sluice explain: no message in the journal at %s matches\n", dir)
		}
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		for _, r := range recs {
			enc.Encode(r)
		}
		return 0
	}
	if len(recs) > 1 {
		listRecords(stdout, recs)
		return 0
	}
	journal.Story(stdout, recs[0])
	return 0
}

// listRecords prints one line per record, for a query that found several.
func listRecords(w io.Writer, recs []*journal.Record) {
	fmt.Fprintf(w, "%d messages match; explain one by its ID:\n", len(recs))
	for _, r := range recs {
		rcpt := strings.Join(r.Envelope.Rcpt, ",")
		if r.Envelope.Refused != "" {
			rcpt = r.Envelope.Refused
		}
		fmt.Fprintf(w, "%s  %s  %-3s %-10s at %-7s %s <%s> -> <%s>  %s\n", r.ID, r.Time.Local().Format("2006-01-02 15:04:05"),
			r.Direction, r.Action, r.Phase, r.Conn.IP, r.Envelope.From, rcpt, journal.RuleNames(r.Rules))
	}
}
