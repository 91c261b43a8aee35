package smtp

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"strings"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/journal"
	"github.com/sluicemail/sluice/stages/resolver"
)

// Journal is where the server records each verdict (server/journal).
type Journal interface {
	Append(rec *journal.Record, body []byte) error
}

// Shadow evaluates a second rule set beside the live one (server/shadow):
// Consider returns at once and never changes the verdict.
type Shadow interface {
	Consider(rec *journal.Record, raw []byte)
}

// resolverFor is the resolver of a new transaction: the server's or the
// pipeline's, wrapped in a recorder when the journal is on so that the
// record holds every answer the checks used.
func (s *session) resolverFor(p *engine.Pipeline) engine.Resolver {
	var r engine.Resolver = engine.NoDNS{}
	switch {
	case s.srv.opts.DNS != nil:
		r = s.srv.opts.DNS
	case p.DNS != nil:
		r = p.DNS
	}
	s.dnsRec = nil
	if s.srv.opts.Journal != nil {
		s.dnsRec = resolver.NewRecorder(r)
		return s.dnsRec
	}
	return r
}

// journalVerdict appends the record of a verdict and returns its ID ("" when
// the journal is off). A refusal decided before RCPT and answered at each
// RCPT is recorded once.
func (s *session) journalVerdict(queueID string, v engine.Verdict, rcpt string) string {
	j := s.srv.opts.Journal
	if j == nil {
		return ""
	}
	early := s.early != nil && v.Phase == s.early.Phase && v.Action == s.early.Action && v.Phase < engine.PhaseRcpt
	if early && s.earlyID != "" {
		return s.earlyID
	}
	rec := s.newRecord(queueID, v, rcpt)
	var body []byte
	if s.msg != nil && s.msg.Raw != nil { // decided after DATA, whatever phase the rules needed
		body = s.msg.Raw
		sum := sha256.Sum256(body)
		rec.Stored = &journal.Stored{Queue: queueID, Size: len(body), SHA256: hex.EncodeToString(sum[:]), Header: headerOf(body)}
	}
	if err := j.Append(rec, body); err != nil {
		s.srv.log.Warn("journal append failed", "session", s.id, "err", err)
		return ""
	}
	if early {
		s.earlyID = rec.ID
	}
	if sh := s.srv.opts.Shadow; sh != nil {
		sh.Consider(rec, body)
	}
	return rec.ID
}

func (s *session) newRecord(queueID string, v engine.Verdict, rcpt string) *journal.Record {
	rec := &journal.Record{
		ID: journal.NewID(), Direction: journal.In, Pipeline: s.pipelineName(), Session: s.id,
		Conn:     journal.Conn{IP: s.ip.String(), HELO: s.helo, Listener: s.kind, Port: s.port, User: s.user},
		Envelope: journal.Envelope{From: s.from, Rcpt: s.rcptAddrs(), Refused: rcpt},
		Phase:    v.Phase.String(), Action: v.Action, Code: v.Code, Enhanced: v.Enhanced, Text: v.Text,
		Redirect: v.Redirect, Learn: v.Learn, Score: v.Score, Received: strings.TrimRight(s.receivedField, "\r\n"),
	}
	if s.kind != MX {
		rec.Direction = journal.Out
	}
	if s.tls != nil {
		rec.Conn.TLS = tls.VersionName(s.tls.Version)
	}
	if v.Err != nil {
		rec.Error = v.Err.Error()
	}
	if s.tx != nil {
		rec.RuleSet = s.tx.Pipeline().Version
		rec.Rules = journal.RulesOf(s.tx.Pipeline(), v.Fired)
		rec.Facts = journal.FactsJSON(engine.FactsMap(s.tx.Facts(), factNamespaces(v, s.msg != nil && s.msg.Raw != nil)))
		for _, r := range s.tx.StageRuns() {
			c := journal.Check{Stage: r.Name, Duration: float64(r.Took.Microseconds()) / 1000}
			if r.Err != nil {
				c.Error = r.Err.Error()
			}
			rec.Checks = append(rec.Checks, c)
		}
	}
	if s.msg != nil && s.msg.Raw != nil {
		h := s.msg.Header()
		rec.MessageID = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
		rec.Subject, rec.From = h.Get("Subject"), h.Get("From")
	}
	if s.dnsRec != nil {
		rec.DNS = s.dnsRec.Exchanges()
	}
	return rec
}

// factNamespaces are the namespaces a record keeps: the connection's and
// envelope's always, the message's after DATA, and each stage that ran.
func factNamespaces(v engine.Verdict, data bool) []string {
	ns := []string{"conn", "auth", "envelope"}
	if data {
		ns = append(ns, "msg")
	}
	return append(ns, v.Stages...)
}

// headerOf returns the header section of a message, without the blank
// line.
func headerOf(raw []byte) string {
	s := string(raw)
	if i := strings.Index(s, "\r\n\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}
