package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/engine/source"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/journal"
	"github.com/sluicemail/sluice/server/replay"
	"github.com/sluicemail/sluice/stages/resolver"
)

func init() {
	register(&command{
		name:    "replay",
		summary: "re-evaluate the journal's messages with another rule set, offline, with the recorded DNS answers",
		run:     func(args []string) int { return runReplay(args, os.Stdout, os.Stderr) },
	})
}

const replayArgs = "--config FILE --rules DIR [--since T] [--until T] [--to ADDRESS] [--direction in|out] [--unrecorded temperror|nxdomain|live] [--json] [--quiet]"

// Exit statuses of replay: 1 gates a deploy (mail that was delivered would
// be refused or dropped), 2 is a usage, rule or journal error.
const (
	replayRefusesDelivered = 1
	replayError            = 2
)

// runReplay re-evaluates the selected journal records with the rules in
// --rules and prints what changes, in the shape of `check --against`.
func runReplay(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("replay", replayArgs, "Re-evaluate the journal's messages with the rules in DIR, answering DNS from the recorded answers,\nand show the messages whose action changes. Exit status 1 when mail that was delivered would be\nrefused or discarded.")
	fs.SetOutput(stderr)
	conf := fs.String("config", "", "the server's config file (its data directory holds the journal)")
	dataDir := fs.String("data", "", "data directory (default: from --config)")
	rulesDir := fs.String("rules", "", "the rule directory to replay with")
	unrec := fs.String("unrecorded", "temperror", "answer to a DNS question the original run never asked: temperror, nxdomain or live")
	var o checkOptions
	fs.BoolVar(&o.json, "json", false, "one JSON object per changed message, then a summary object")
	fs.BoolVar(&o.quiet, "quiet", false, "print only the summary")
	qf := addQueryFlags(fs, true)
	if rest, err := parseInterspersed(fs, args); err != nil || len(rest) > 0 || *rulesDir == "" {
		if err == nil {
			fmt.Fprintln(stderr, "sluice replay: --rules DIR is required, and takes no other arguments")
		}
		return replayError
	}
	policy, err := resolver.ParseUnrecorded(*unrec)
	if err != nil {
		fmt.Fprintln(stderr, "sluice replay:", err)
		return replayError
	}
	q, err := qf.query("", time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "sluice replay:", err)
		return replayError
	}
	cfg, err := replayConfig(*conf, *dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "sluice replay:", err)
		return replayError
	}
	quietLogs()
	set, code := loadReplayRules(cfg, *rulesDir, stderr)
	if set == nil {
		return code
	}
	var live engine.Resolver
	if policy == resolver.UnrecordedLive {
		if live, err = openResolver(cfg, nil); err != nil {
			fmt.Fprintln(stderr, "sluice replay:", err)
			return replayError
		}
	}
	o.against = "the journal"
	r := &replayer{dir: journalDir(cfg), q: q, out: newReport(&o), opts: replay.Options{
		Dir: journalDir(cfg), Pipeline: set.Pipeline, Unrecorded: policy, Live: live}}
	r.out.w, r.out.enc = stdout, json.NewEncoder(stdout)
	r.out.enc.SetEscapeHTML(false)
	r.out.jsonFor, r.out.extra = r.jsonLine, r.extraLines
	return r.run(stderr)
}

// replayConfig loads the config (for the data directory, the stages'
// settings and the resolver of --unrecorded live).
func replayConfig(path, data string) (*config.Config, error) {
	var cfg *config.Config
	var err error
	if path != "" {
		cfg, err = config.Load(path)
	} else {
		cfg, err = config.Default()
	}
	if err != nil {
		return nil, err
	}
	if data != "" {
		cfg.Data = data
	}
	return cfg, nil
}

// loadReplayRules compiles the rule directory; on failure it prints every
// error as file:line:col and returns a nil set.
func loadReplayRules(cfg *config.Config, dir string, stderr io.Writer) (*rules.Set, int) {
	ropts, err := rulesOptions(cfg, engine.NoDNS{})
	if err != nil {
		fmt.Fprintln(stderr, "sluice replay:", err)
		return nil, replayError
	}
	set, err := rules.Load(dir, ropts)
	if err != nil {
		fmt.Fprintf(stderr, "sluice replay: the rules in %s do not compile:\n", dir)
		if errs := rules.Errors(err); len(errs) > 0 {
			for _, e := range errs {
				fmt.Fprintln(stderr, e)
			}
		} else {
			fmt.Fprintln(stderr, err)
		}
		return nil, replayError
	}
	return set, 0
}

// replayer walks the journal and feeds the report.
type replayer struct {
	dir     string
	q       journal.Query
	opts    replay.Options
	out     *report
	records map[string]*journal.Record // changed ones, by ID, for the output
	outcome map[string]replay.Outcome
	refused int // delivered before, refused or discarded now
}

func (r *replayer) run(stderr io.Writer) int {
	recs, err := journal.Find(r.dir, r.q, func(s string) { fmt.Fprintln(stderr, "warning:", s) })
	if err != nil {
		fmt.Fprintln(stderr, "sluice replay:", err)
		return replayError
	}
	r.records, r.outcome = map[string]*journal.Record{}, map[string]replay.Outcome{}
	r.opts.Bodies = journal.NewBodies(r.dir)
	defer r.opts.Bodies.Close()
	bar := newProgress("replay", len(recs), !r.out.o.json)
	ctx := context.Background()
	for _, rec := range recs {
		oc, err := replay.Record(ctx, rec, r.opts)
		bar.add(1)
		if err != nil {
			r.out.skipped(source.Item{Path: rec.ID, Err: err})
			continue
		}
		old := engine.Verdict{Action: rec.Action, Code: rec.Code, Enhanced: rec.Enhanced, Text: rec.Text, Score: rec.Score, Learn: rec.Learn}
		for _, ru := range rec.Rules {
			old.Fired = append(old.Fired, engine.Fired{Name: ru.Name, Score: ru.Score, Action: ru.Action})
		}
		if old.Action != oc.Verdict.Action || old.Learn != oc.Verdict.Learn {
			r.records[rec.ID], r.outcome[rec.ID] = rec, oc
			if delivered(old.Action) && (oc.Verdict.Action == engine.ActionReject || oc.Verdict.Action == engine.ActionDiscard) {
				r.refused++
			}
		}
		r.out.message(rec.ID, result{verdict: oc.Verdict, old: &old})
	}
	bar.finish()
	r.out.summary()
	if r.refused > 0 {
		if !r.out.o.json {
			fmt.Fprintf(r.out.w, "\n%d messages that were delivered would be refused or discarded\n", r.refused)
		}
		return replayRefusesDelivered
	}
	return 0
}

// delivered reports whether an action put the message in a mailbox (or
// sent it on).
func delivered(action string) bool {
	switch action {
	case engine.ActionAccept, engine.ActionJunk, engine.ActionRedirect, engine.ActionQuarantine:
		return true
	}
	return false
}

// replayJSON is the --json form of a changed message.
type replayJSON struct {
	ID         string           `json:"id"`
	MessageID  string           `json:"message_id"`
	Time       time.Time        `json:"time"`
	Old        replaySide       `json:"old"`
	New        replaySide       `json:"new"`
	Unrecorded []string         `json:"unrecorded,omitempty"`
	NoBody     bool             `json:"no_body,omitempty"`
	Envelope   journal.Envelope `json:"envelope"`
}

type replaySide struct {
	Action string         `json:"action"`
	Code   int            `json:"code,omitempty"`
	Learn  string         `json:"learn,omitempty"` // a rule's learn:
	Rules  []journal.Rule `json:"rules"`
}

func (r *replayer) jsonLine(id string, res result) any {
	rec, oc := r.records[id], r.outcome[id]
	j := replayJSON{ID: id, MessageID: rec.MessageID, Time: rec.Time, Envelope: rec.Envelope,
		Old:        replaySide{Action: rec.Action, Code: rec.Code, Learn: rec.Learn, Rules: nonNil(rec.Rules)},
		New:        replaySide{Action: oc.Verdict.Action, Code: oc.Verdict.Code, Learn: oc.Verdict.Learn, Rules: nonNil(oc.Rules)},
		Unrecorded: oc.Unrecorded, NoBody: oc.NoBody}
	return j
}

func nonNil(rs []journal.Rule) []journal.Rule {
	if rs == nil {
		return []journal.Rule{}
	}
	return rs
}

// extraLines names the message and where the new rules are written.
func (r *replayer) extraLines(id string) []string {
	rec, oc := r.records[id], r.outcome[id]
	if rec == nil {
		return nil
	}
	lines := []string{fmt.Sprintf("message: %s <%s> -> %v, Message-ID <%s>", rec.Time.Local().Format("2006-01-02 15:04"), rec.Envelope.From, rec.Envelope.Rcpt, rec.MessageID)}
	for _, ru := range oc.Rules {
		lines = append(lines, fmt.Sprintf("new rule %s at %s:%d", ru.Name, ru.File, ru.Line))
	}
	if len(oc.Unrecorded) > 0 {
		lines = append(lines, fmt.Sprintf("unrecorded DNS (answered %s): %v", r.opts.Unrecorded, oc.Unrecorded))
	}
	if oc.NoBody {
		lines = append(lines, "no message text kept: evaluated up to RCPT")
	}
	return lines
}
