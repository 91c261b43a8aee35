package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/engine/source"
)

// report prints per-message results and the closing summary of a dry run.
type report struct {
	o       *checkOptions
	w       io.Writer
	enc     *json.Encoder
	count   int
	skips   int
	changed int // messages whose action changes (--against, replay)
	// relearn counts the messages whose learn: changes: a new rule that
	// only teaches the model changes no action, and must still show.
	relearn int
	actions map[string]int
	hits    map[string]int
	order   []string // rule names in first-seen order, for a stable table
	// moves counts messages per "old -> new" action (--against, replay).
	moves map[string]int
	// jsonFor, when set, gives the --json object of a changed message
	// (replay prints its own shape); extra adds lines to the text form.
	jsonFor func(path string, res result) any
	extra   func(path string) []string
}

func newReport(o *checkOptions) *report {
	r := &report{o: o, w: os.Stdout, actions: map[string]int{}, hits: map[string]int{}, moves: map[string]int{}}
	r.enc = json.NewEncoder(r.w)
	r.enc.SetEscapeHTML(false)
	return r
}

// jsonLine is the --json form of one message.
type jsonLine struct {
	Path     string         `json:"path"`
	Action   string         `json:"action"`
	Reply    string         `json:"reply"`
	Score    float64        `json:"score"`
	Rules    []string       `json:"rules"`
	Stages   []string       `json:"stages"`
	Phase    string         `json:"phase"`
	Error    string         `json:"error,omitempty"`
	Redirect string         `json:"redirect,omitempty"`
	Headers  []engine.Field `json:"headers,omitempty"`
	// Learn is what a rule's learn: would teach the model in the server;
	// the dry run itself learns nothing.
	Learn string         `json:"learn,omitempty"`
	Facts map[string]any `json:"facts,omitempty"`
	// Derived says where each envelope fact came from (--facts).
	Derived   map[string]string `json:"derived,omitempty"`
	OldAction string            `json:"old_action,omitempty"`
	OldRules  []string          `json:"old_rules,omitempty"`
	OldLearn  string            `json:"old_learn,omitempty"`
}

func (r *report) skipped(it source.Item) {
	r.skips++
	if r.o.json {
		r.enc.Encode(map[string]string{"path": it.Path, "skipped": it.Err.Error()})
		return
	}
	fmt.Fprintf(os.Stderr, "%s: skipped: %v\n", it.Path, it.Err)
}

func (r *report) message(path string, res result) {
	v := &res.verdict
	r.count++
	r.actions[v.Action]++
	for _, name := range v.Rules() {
		if r.hits[name] == 0 {
			r.order = append(r.order, name)
		}
		r.hits[name]++
	}
	if res.old != nil {
		r.moves[res.old.Action+" -> "+v.Action]++
		relearn := res.old.Learn != v.Learn
		if relearn {
			r.relearn++
		}
		if res.old.Action == v.Action && !relearn {
			return
		}
		if res.old.Action != v.Action {
			r.changed++
		}
	}
	if r.o.quiet {
		return
	}
	if r.o.json && r.jsonFor != nil {
		r.enc.Encode(r.jsonFor(path, res))
		return
	}
	if r.o.json {
		r.enc.Encode(toJSON(path, res))
		return
	}
	r.text(path, res)
}

func toJSON(path string, res result) jsonLine {
	v := &res.verdict
	j := jsonLine{Path: path, Action: v.Action, Reply: v.Reply(), Score: v.Score, Rules: v.Rules(), Stages: v.Stages,
		Phase: v.Phase.String(), Redirect: v.Redirect, Headers: v.Headers, Learn: v.Learn, Facts: res.facts, Derived: res.derived}
	if j.Rules == nil {
		j.Rules = []string{}
	}
	if j.Stages == nil {
		j.Stages = []string{}
	}
	if v.Err != nil {
		j.Error = v.Err.Error()
	}
	if res.old != nil {
		j.OldAction, j.OldRules, j.OldLearn = res.old.Action, res.old.Rules(), res.old.Learn
	}
	return j
}

func (r *report) text(path string, res result) {
	v := &res.verdict
	line := fmt.Sprintf("%s: %s", path, v.Action)
	if res.old != nil {
		line = fmt.Sprintf("%s: %s -> %s", path, res.old.Action, v.Action)
	}
	if reply := v.Reply(); reply != "" {
		line += " " + reply
	}
	if v.Redirect != "" {
		line += " to " + v.Redirect
	}
	fmt.Fprintf(r.w, "%s (score %g, decided at %s)\n", line, v.Score, v.Phase)
	if res.old != nil {
		fmt.Fprintf(r.w, "    rules before: %s\n", orNone(res.old.Rules()))
		if res.old.Learn != v.Learn {
			fmt.Fprintf(r.w, "    learn before: %s\n", orNone(nonEmpty(res.old.Learn)))
		}
	}
	fmt.Fprintf(r.w, "    rules: %s\n", orNone(v.Rules()))
	if len(v.Stages) > 0 {
		fmt.Fprintf(r.w, "    stages: %s\n", strings.Join(v.Stages, ", "))
	}
	if v.Learn != "" || res.old != nil && res.old.Learn != "" {
		fmt.Fprintf(r.w, "    learn: %s (in the server; not in this dry run)\n", orNone(nonEmpty(v.Learn)))
	}
	if v.Err != nil {
		fmt.Fprintf(r.w, "    error: %v\n", v.Err)
	}
	if r.extra != nil {
		for _, line := range r.extra(path) {
			fmt.Fprintf(r.w, "    %s\n", line)
		}
	}
	if res.facts != nil {
		fmt.Fprintf(r.w, "    derived: %s\n", derivedText(res.derived))
		b, _ := json.MarshalIndent(res.facts, "    ", "  ")
		fmt.Fprintf(r.w, "    facts: %s\n", b)
	}
}

// derivedText lists where each envelope fact came from, in a fixed order.
func derivedText(src map[string]string) string {
	var parts []string
	for _, k := range []string{"conn.ip", "conn.helo", "envelope.mail_from", "envelope.rcpt"} {
		if v, ok := src[k]; ok {
			parts = append(parts, k+" from "+v)
		} else {
			parts = append(parts, k+" not found")
		}
	}
	return strings.Join(parts, "; ")
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

// summary prints messages per action and hits per rule.
func (r *report) summary() {
	if r.o.json {
		s := map[string]any{"messages": r.count, "skipped": r.skips, "actions": r.actions, "rules": r.hits}
		if r.o.against != "" {
			s["changed"] = r.changed
			s["moves"] = r.moves
			s["learn_changed"] = r.relearn
		}
		r.enc.Encode(map[string]any{"summary": s})
		return
	}
	fmt.Fprintf(r.w, "\n%d messages, %d skipped", r.count, r.skips)
	if r.o.against != "" {
		fmt.Fprintf(r.w, ", %d change action against %s", r.changed, r.o.against)
		if r.relearn > 0 {
			fmt.Fprintf(r.w, ", %d change what a rule's learn: teaches the model", r.relearn)
		}
	}
	fmt.Fprintln(r.w)
	tw := tabwriter.NewWriter(r.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\naction\tmessages")
	for _, a := range sortedKeys(r.actions) {
		fmt.Fprintf(tw, "%s\t%d\n", a, r.actions[a])
	}
	if r.o.against != "" && len(r.moves) > 0 {
		fmt.Fprintln(tw, "\nbefore -> after\tmessages")
		for _, m := range sortedKeys(r.moves) {
			fmt.Fprintf(tw, "%s\t%d\n", m, r.moves[m])
		}
	}
	if len(r.order) > 0 {
		fmt.Fprintln(tw, "\nrule\thits")
		for _, name := range r.order {
			fmt.Fprintf(tw, "%s\t%d\n", name, r.hits[name])
		}
	}
	tw.Flush()
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// nonEmpty is s as a list for orNone: none when s is "".
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
