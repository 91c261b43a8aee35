package verdicts

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/sluicemail/sluice/server/journal"
)

// Recorder is a Source that can give a verdict's journal record: the
// console shows its story (the checks, the DNS answers, the rules and
// why, the shadow rules' disagreement).
type Recorder interface {
	Record(id string) (*journal.Record, bool)
}

// Finder is a Source that finds verdicts by what `sluice explain` takes:
// a journal ID, an SMTP session ID or a Message-ID.
type Finder interface {
	Find(key string) []Verdict
}

// Journaled is a Source over the in-memory ring of recent verdicts and
// the verdict journal in Dir: lists and live events come from the ring, a
// verdict the ring has forgotten is still found in the journal.
type Journaled struct {
	Source
	Dir    string
	Logger *slog.Logger // warnings of the journal reader (torn records); default slog.Default()
}

// Get returns the ring's verdict, else the journal's record as a verdict.
func (j *Journaled) Get(id string) (Verdict, bool) {
	if v, ok := j.Source.Get(id); ok {
		return v, true
	}
	rec, ok := j.Record(id)
	if !ok {
		return Verdict{}, false
	}
	return FromRecord(rec), true
}

// Record returns the journal's record of verdict id with the shadow
// rules' disagreement about it, if any.
func (j *Journaled) Record(id string) (*journal.Record, bool) {
	log := j.Logger
	if log == nil {
		log = slog.Default()
	}
	rec, ok, err := journal.Lookup(j.Dir, id, func(w string) { log.Warn("verdict journal: " + w) })
	if err != nil {
		log.Warn("verdict journal: looking up a verdict", "id", id, "err", err)
	}
	return rec, ok
}

// FromRecord is the verdict a journal record tells of. The From header is
// empty for records written before the journal kept it.
func FromRecord(r *journal.Record) Verdict {
	v := Verdict{
		ID: r.ID, Time: r.Time, Listener: r.Conn.Listener, Pipeline: r.Pipeline, Phase: r.Phase,
		IP: r.Conn.IP, HELO: r.Conn.HELO, User: r.Conn.User, MailFrom: r.Envelope.From, Rcpt: r.Envelope.Rcpt,
		Subject: r.Subject, From: r.From, Action: r.Action, Score: r.Score, Err: r.Error, Facts: r.FactsMap(),
	}
	if r.Envelope.Refused != "" {
		v.Rcpt = append(append([]string(nil), v.Rcpt...), r.Envelope.Refused)
	}
	if r.Code != 0 {
		v.Reply = strings.TrimSpace(fmt.Sprintf("%d %s %s", r.Code, r.Enhanced, r.Text))
	}
	if r.Stored != nil {
		v.QueueID = r.Stored.Queue
	}
	for _, ru := range r.Rules {
		v.Rules = append(v.Rules, Rule{Name: ru.Name, Score: ru.Score, Action: ru.Action})
	}
	for _, c := range r.Checks {
		v.Stages = append(v.Stages, c.Stage)
	}
	return v
}

// Find returns the journal's verdicts whose journal ID, session ID or
// Message-ID (with or without angle brackets) is key, oldest first: the
// records `sluice explain key` prints. It reads the whole journal.
func (j *Journaled) Find(key string) []Verdict {
	log := j.Logger
	if log == nil {
		log = slog.Default()
	}
	if strings.Trim(strings.TrimSpace(key), "<>") == "" {
		return nil
	}
	recs, err := journal.Explain(j.Dir, journal.Query{Key: key}, func(w string) { log.Warn("verdict journal: " + w) })
	if err != nil {
		log.Warn("verdict journal: finding verdicts", "key", key, "err", err)
	}
	var out []Verdict
	for _, r := range recs {
		out = append(out, FromRecord(r))
	}
	return out
}
