package smtp

import (
	"errors"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/reports"
)

// DMARC aggregate reports (RFC 7489 section 7.2), the session's part: with
// Options.Reports set, DMARC is evaluated for every inbound message after
// the DATA verdict, whether or not a rule reads it, and the evaluation is
// recorded with what was done to the message; mail to our rua address is
// taken in as a report (and delivered too, if the address is a mailbox).

// Reports is server/reports' store, as the session uses it.
type Reports interface {
	// Record keeps one evaluation for the next report to its domain.
	Record(ev reports.Evaluation)
	// IsAddress reports whether addr is our rua address.
	IsAddress(addr string) bool
	// Ingest parses a received aggregate report message and keeps it;
	// it returns an error, and keeps nothing, for anything else.
	Ingest(raw []byte) error
}

var errNotReport = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 6, 0},
	Message: "This address takes DMARC aggregate reports only"}

// report evaluates DMARC for an inbound message and records it. A verdict
// of tempfail records nothing: the message will come again.
func (s *session) report(v engine.Verdict) {
	r := s.srv.opts.Reports
	if r == nil || s.tx == nil || s.kind != MX || v.Action == engine.ActionTempfail {
		return
	}
	s.tx.Ensure(s.ctx, "dmarc")
	f := s.tx.Facts()
	if f.DMARC.Policy == "" {
		return // no DMARC record applied: nobody to report to
	}
	r.Record(reports.FromFacts(f, disposition(v), time.Now()))
}

// disposition is what the DMARC report says was done with the message.
func disposition(v engine.Verdict) string {
	switch v.Action {
	case engine.ActionReject, engine.ActionDiscard:
		return "reject"
	case engine.ActionQuarantine, engine.ActionJunk:
		return "quarantine"
	}
	return "none"
}

// reportRcpt accepts RCPT TO our rua address even when it is no mailbox:
// ok is false when addr is not that address.
func (s *Server) reportRcpt(addr string) ([]queue.Recipient, bool) {
	if s.opts.Reports == nil || !s.opts.Reports.IsAddress(addr) {
		return nil, false
	}
	if users, found := s.opts.Accounts.Resolve(addr); found {
		return s.router.Recipients(users), true
	}
	return []queue.Recipient{}, true
}

// ingestReports takes in the message as a report when it was sent to our
// rua address. With nowhere else to deliver it, a message that is no
// report is refused (550), so that nothing is silently dropped.
func (s *session) ingestReports(raw []byte, env queue.Envelope) error {
	r := s.srv.opts.Reports
	if r == nil {
		return nil
	}
	for _, rc := range s.rcpts {
		if !r.IsAddress(rc.addr) {
			continue
		}
		err := r.Ingest(raw)
		switch {
		case err == nil:
			s.srv.log.Info("DMARC report received", "session", s.id, "from", s.from)
			return nil
		case errors.Is(err, reports.ErrStore):
			s.srv.log.Error("DMARC report not kept", "session", s.id, "err", err)
			return errQueue // the sender retries; nothing is lost
		}
		s.srv.log.Info("not a DMARC report", "session", s.id, "from", s.from, "err", err)
		if len(env.Rcpt) == 0 {
			return errNotReport
		}
		return nil // the mailbox behind the address still gets it
	}
	return nil
}
