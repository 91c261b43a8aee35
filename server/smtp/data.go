package smtp

import (
	"bytes"
	"errors"
	"io"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/store"
	"github.com/sluicemail/sluice/stages/authres"
)

// DATA replies for input sluice refuses.
var (
	errNUL = &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 6, 0},
		Message: "Message contains NUL bytes; refused"}
	errBareCR = &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 6, 0},
		Message: "Message contains a bare CR (RFC 5321 2.3.8); refused"}
	errHeaderTooLarge = &gosmtp.SMTPError{Code: 552, EnhancedCode: gosmtp.EnhancedCode{5, 3, 4},
		Message: "Message header too large"}
	errLineTooLong = &gosmtp.SMTPError{Code: 500, EnhancedCode: gosmtp.EnhancedCode{5, 5, 2},
		Message: "Line too long"}
	errQueue = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0},
		Message: "Temporary local problem, please try again later"}
	errNoRcpt = &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 5, 1},
		Message: "No valid recipients"}
)

// Data reads the message, runs the DATA-phase rules and queues the result;
// the 250 that go-smtp sends after a nil return therefore means the
// message is on disk.
func (s *session) Data(r io.Reader) error {
	if len(s.rcpts) == 0 || s.msg == nil {
		return errNoRcpt
	}
	// The DATA decides the transaction's outcome now, whatever some
	// recipients were refused with.
	s.pending = ""
	br, release := s.srv.mem.reader(r)
	defer release()
	raw, err := readMessage(br, s.srv.opts.MaxHeaderBytes)
	if err != nil {
		s.badData(err)
		return err
	}
	raw = authres.Strip(raw, s.srv.opts.Hostname)
	raw = engine.StripSpamStatus(raw) // only ours may reach the users' filters
	if s.kind != MX && s.srv.opts.RequireFromMatch {
		if err := s.checkFromHeader(raw); err != nil {
			return err
		}
	}
	s.msg.SetRaw(raw)
	s.srv.opts.Metrics.Size(len(raw))
	v := s.evaluate(engine.PhaseData)
	s.report(v)
	if v.Final() {
		s.logVerdict("", v, engine.PhaseData, "")
		s.endTx(v.Action)
		return verdictError(v)
	}
	if v.Action == engine.ActionDiscard {
		s.logVerdict("", v, engine.PhaseData, "")
		s.endTx(v.Action)
		return nil
	}
	env := s.envelope(v)
	if err := s.checkQuota(env.Rcpt, int64(len(raw))); err != nil {
		return err
	}
	if err := s.ingestReports(raw, env); err != nil || len(env.Rcpt) == 0 {
		return err // a report for our rua address only, kept (or refused)
	}
	s.ensureARC(env, v)
	out := s.finalMessage(raw, v)
	id, err := s.put(env, out, v)
	if err != nil {
		s.srv.log.Error("queue put failed", "session", s.id, "ip", s.ip.String(), "err", err)
		return errQueue
	}
	s.logVerdict(id, v, engine.PhaseData, "")
	s.endTx(v.Action)
	if s.user != "" && s.srv.opts.Sent != nil {
		s.srv.opts.Sent(s.user, s.rcptAddrs())
	}
	return nil
}

// readMessage reads DATA (or BDAT chunks) and refuses what is not valid
// SMTP data. A bare LF is taken as a line end and stored as CRLF (as
// Postfix's smtpd_forbid_bare_newline = normalize does); a bare CR or a
// NUL byte refuses the message, since they only serve to smuggle. The end
// of data itself is recognised by go-smtp only as <CRLF>.<CRLF>.
func readMessage(r io.Reader, maxHeader int64) ([]byte, error) {
	raw, err := io.ReadAll(r)
	switch {
	case err == nil:
	case errors.Is(err, gosmtp.ErrTooLongLine):
		return nil, errLineTooLong
	case err == errBusy:
		return nil, errBusy
	default:
		return nil, err // too large (552), or the client went away
	}
	if bytes.IndexByte(raw, 0) >= 0 {
		return nil, errNUL
	}
	raw, ok := normalizeLineEnds(raw)
	if !ok {
		return nil, errBareCR
	}
	hdr := bytes.Index(raw, []byte("\r\n\r\n"))
	if hdr < 0 {
		hdr = len(raw)
	}
	if int64(hdr) > maxHeader {
		return nil, errHeaderTooLarge
	}
	return raw, nil
}

// normalizeLineEnds turns bare LF into CRLF; ok is false if a CR is not
// followed by LF.
func normalizeLineEnds(raw []byte) ([]byte, bool) {
	bareLF := false
	for i, c := range raw {
		switch c {
		case '\r':
			if i+1 >= len(raw) || raw[i+1] != '\n' {
				return nil, false
			}
		case '\n':
			if i == 0 || raw[i-1] != '\r' {
				bareLF = true
			}
		}
	}
	if !bareLF {
		return raw, true
	}
	out := make([]byte, 0, len(raw)+len(raw)/40)
	for i, c := range raw {
		if c == '\n' && (i == 0 || raw[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out, true
}

func (s *session) badData(err error) {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		s.srv.opts.Metrics.BadData.Add(1)
	}
	s.srv.log.Info("data refused", "session", s.id, "ip", s.ip.String(), "listener", s.kind,
		"from", s.from, "rcpt", s.rcptAddrs(), "err", err.Error())
}

// envelope builds the queue envelope for a verdict: junk goes to Junk,
// quarantine is held, redirect replaces the recipients.
func (s *session) envelope(v engine.Verdict) queue.Envelope {
	env := queue.Envelope{From: s.from, AuthUser: s.user, Received: time.Now(), Reason: reason(v),
		UTF8: s.utf8, RequireTLS: s.requireTLS}
	seen := map[string]bool{}
	add := func(r queue.Recipient) {
		key := r.Addr + "\x00" + r.Mailbox
		if !seen[key] {
			seen[key] = true
			env.Rcpt = append(env.Rcpt, r)
		}
	}
	if v.Action == engine.ActionRedirect && v.Redirect != "" {
		if users, ok := s.srv.opts.Accounts.Resolve(v.Redirect); ok {
			for _, r := range s.srv.router.Recipients(users) {
				add(r)
			}
		} else {
			add(queue.Recipient{Addr: v.Redirect})
		}
		return env
	}
	for _, rc := range s.rcpts {
		for _, r := range rc.to {
			if r.Local && v.Action == engine.ActionJunk {
				r.Mailbox = store.Junk
			}
			add(r)
		}
	}
	env.Quarantine = v.Action == engine.ActionQuarantine
	return env
}

func reason(v engine.Verdict) string {
	r := v.Action
	if names := v.Rules(); len(names) > 0 {
		r += " by " + joinComma(names)
	}
	return r
}

// checkQuota refuses when a local recipient has no room for size bytes:
// 452 4.2.2 while the mailbox may still shrink, 552 5.2.2 when the message
// alone is over the limit.
func (s *session) checkQuota(rcpts []queue.Recipient, size int64) error {
	q := s.srv.opts.Quota
	if q == nil {
		return nil
	}
	for _, r := range rcpts {
		if !r.Local {
			continue
		}
		err := q.CheckQuota(r.User, size)
		var qe *store.QuotaError
		switch {
		case err == nil:
		case errors.As(err, &qe) && qe.Permanent:
			return &gosmtp.SMTPError{Code: 552, EnhancedCode: gosmtp.EnhancedCode{5, 2, 2}, Message: "Mailbox full: message exceeds the quota of " + r.Addr}
		case errors.As(err, &qe):
			return &gosmtp.SMTPError{Code: 452, EnhancedCode: gosmtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full: " + r.Addr}
		default:
			s.srv.log.Warn("quota check failed", "user", r.User, "err", err)
		}
	}
	return nil
}

func (s *session) rcptAddrs() []string {
	out := make([]string, len(s.rcpts))
	for i, r := range s.rcpts {
		out[i] = r.addr
	}
	return out
}
