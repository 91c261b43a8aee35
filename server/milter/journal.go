package milter

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	gomilter "github.com/d--j/go-milter"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/journal"
)

// Journal is where verdicts are recorded (server/journal), as the SMTP
// server records its own: `sluice explain` reads milter verdicts the same
// way.
type Journal interface {
	Append(rec *journal.Record, body []byte) error
}

// journalVerdict records a decided verdict; the record's Session is the
// MTA's queue ID when it has one (Postfix assigns it at MAIL).
func (s *session) journalVerdict(v engine.Verdict, m gomilter.Modifier) string {
	j := s.srv.opts.Journal
	if j == nil || s.msg == nil {
		return ""
	}
	queueID := m.Get(gomilter.MacroQueueId)
	rec := &journal.Record{
		ID: journal.NewID(), Direction: journal.In, Pipeline: "inbound", Session: queueID,
		Conn:     journal.Conn{IP: s.ip.String(), HELO: s.helo, Listener: Listener, Port: s.port, User: s.user},
		Envelope: journal.Envelope{From: s.msg.Envelope.MailFrom, Rcpt: s.msg.Envelope.Rcpt},
		Phase:    v.Phase.String(), Action: v.Action, Code: v.Code, Enhanced: v.Enhanced, Text: v.Text,
		Redirect: v.Redirect, Learn: v.Learn, Score: v.Score,
	}
	if s.user != "" {
		rec.Direction, rec.Pipeline = journal.Out, "outbound"
	}
	if v.Err != nil {
		rec.Error = v.Err.Error()
	}
	if s.tx != nil {
		rec.RuleSet = s.tx.Pipeline().Version
		rec.Rules = journal.RulesOf(s.tx.Pipeline(), v.Fired)
		ns := []string{"conn", "auth", "envelope", "rate", "greylist"}
		if v.Phase >= engine.PhaseData {
			ns = append(ns, "msg")
		}
		rec.Facts = journal.FactsJSON(engine.FactsMap(s.tx.Facts(), append(ns, v.Stages...)))
		for _, r := range s.tx.StageRuns() {
			c := journal.Check{Stage: r.Name, Duration: float64(r.Took.Microseconds()) / 1000}
			if r.Err != nil {
				c.Error = r.Err.Error()
			}
			rec.Checks = append(rec.Checks, c)
		}
	}
	var body []byte
	if s.msg.Raw != nil && v.Phase >= engine.PhaseData {
		body = s.msg.Raw
		h := s.msg.Header()
		rec.MessageID = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
		rec.Subject, rec.From = h.Get("Subject"), h.Get("From")
		sum := sha256.Sum256(body)
		rec.Stored = &journal.Stored{Queue: queueID, Size: len(body), SHA256: hex.EncodeToString(sum[:]), Header: headerOf(body)}
	}
	if err := j.Append(rec, body); err != nil {
		s.srv.log.Warn("journal append failed", "queue", queueID, "err", err)
		return ""
	}
	return rec.ID
}

// headerOf is the header section of a message, without the blank line.
func headerOf(raw []byte) string {
	h, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	return h
}
