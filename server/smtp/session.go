package smtp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/stages/resolver"
)

// backend makes a session per connection (go-smtp calls it at the first
// HELO/EHLO, and again after STARTTLS).
type backend struct {
	srv  *Server
	kind string
}

// session is one SMTP connection's state. go-smtp calls its methods from
// the connection's goroutine only.
type session struct {
	srv    *Server
	conn   *gosmtp.Conn
	kind   string
	id     string
	ip     netip.Addr
	port   int
	helo   string
	tls    *tls.ConnectionState
	user   string // authenticated user, "" before AUTH
	ctx    context.Context
	cancel context.CancelFunc

	// The current transaction.
	tx      *engine.Tx
	msg     *engine.Message
	early   *engine.Verdict // a reject decided before RCPT, answered at RCPT
	inTx    bool            // MAIL was accepted
	counted bool            // this transaction's outcome is in the metrics
	// pending is the rules' refusal of a recipient: the transaction's
	// outcome if no DATA ends it (counted at RSET, EHLO or the end of the
	// session, once however many recipients it refused).
	pending string
	lc      *limitedConn // the connection, whose outcome the metrics count at close
	from    string
	utf8    bool
	// requireTLS: the client asked for REQUIRETLS (RFC 8689), which binds
	// every onward hop.
	requireTLS bool
	// busy is set from MAIL to the end of the transaction; a shutdown
	// lets such a session finish (drain.go).
	busy    atomic.Bool
	size    int64
	rcpts   []acceptedRcpt
	started time.Time

	// The verdict journal (journal.go): the DNS recorder of this
	// transaction, the ID of its early refusal, our Received field.
	dnsRec        *resolver.Recorder
	earlyID       string
	receivedField string
}

type acceptedRcpt struct {
	addr string
	to   []queue.Recipient
}

func (b *backend) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	s := &session{srv: b.srv, kind: b.kind, id: newID(), helo: c.Hostname(), conn: c}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if ta, ok := c.Conn().RemoteAddr().(*net.TCPAddr); ok {
		s.ip, _ = netip.AddrFromSlice(ta.IP)
		s.ip = s.ip.Unmap()
	}
	if la, ok := c.Conn().LocalAddr().(*net.TCPAddr); ok {
		s.port = la.Port
	}
	if st, ok := c.TLSConnectionState(); ok {
		s.tls = &st
	}
	s.lc = limitedOf(c.Conn())
	attach(s, c)
	if !printable(s.helo) {
		return nil, errBadHelo
	}
	if b.kind == MX {
		// Rules on the connection and HELO run now; a reject they decide
		// is answered at RCPT, where the client logs the recipient.
		s.begin()
		s.evaluate(engine.PhaseHelo)
	}
	return s, nil
}

func newID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// pipelineName is the rule pipeline of this listener.
func (s *session) pipelineName() string {
	if s.kind == MX {
		return "inbound"
	}
	return "outbound"
}

// begin starts a transaction with the current pipeline; a reload after
// this moment applies to the next transaction, never to this one.
func (s *session) begin() {
	env := engine.Envelope{IP: s.ip, HELO: s.helo, TLS: s.tls != nil, Listener: s.kind, Port: s.port, AuthUser: s.user}
	s.msg = engine.NewMessage(env, nil)
	s.tx = nil
	s.started = time.Now()
	if p := s.srv.opts.Pipeline(s.pipelineName()); p != nil {
		opts := []engine.TxOption{
			engine.WithResolver(s.resolverFor(p)),
			engine.WithStageObserver(s.srv.opts.Metrics.Stage),
			engine.WithLearning(),
		}
		if s.srv.opts.DNSDegraded != nil {
			opts = append(opts, engine.WithDNSDegraded(s.srv.opts.DNSDegraded()))
		}
		s.tx = p.Begin(s.msg, opts...)
	}
}

// evaluate runs the rules known at phase. A reject or tempfail decided
// before RCPT is kept in s.early, to be answered at RCPT.
func (s *session) evaluate(phase engine.Phase) engine.Verdict {
	if s.tx == nil {
		return engine.Verdict{Action: engine.ActionAccept, Decided: phase >= engine.PhaseData}
	}
	v := s.tx.Evaluate(s.ctx, phase)
	if v.Decided && v.Final() && phase < engine.PhaseRcpt && s.early == nil {
		s.early = &v
	}
	return v
}

// Reset ends the transaction (RSET, a new EHLO, the end of DATA).
func (s *session) Reset() {
	s.endPending()
	s.tx, s.msg, s.early = nil, nil, nil
	s.dnsRec, s.earlyID, s.receivedField = nil, "", ""
	s.inTx, s.counted, s.pending, s.from, s.utf8, s.requireTLS, s.size, s.rcpts = false, false, "", "", false, false, 0, nil
	s.busy.Store(false)
}

// refuseRcpt notes the rules' refusal of a recipient. It is not counted
// yet: another recipient may be accepted and the message taken, and then
// the transaction's outcome is the DATA's.
func (s *session) refuseRcpt(action string) {
	if s.pending == "" {
		s.pending = action
	}
}

// endPending counts a transaction that ended without DATA deciding it
// (the client gave up after its recipients were refused).
func (s *session) endPending() {
	if s.pending != "" {
		s.endTx(s.pending)
	}
}

// endTx counts the transaction's outcome, once, and tallies it on the
// connection for the session's outcome.
func (s *session) endTx(action string) {
	if s.counted {
		return
	}
	s.counted = true
	s.srv.opts.Metrics.Message(s.kind, action)
	if s.lc == nil {
		return
	}
	if action == engine.ActionReject || action == engine.ActionTempfail {
		s.lc.tally.refused.Add(1)
	} else {
		s.lc.tally.accepted.Add(1)
	}
}

// Logout ends the session (the connection closes, or STARTTLS begins a
// new session on it).
func (s *session) Logout() error {
	s.endPending()
	s.cancel()
	return nil
}

// Session-level replies.
var (
	errAuthRequired    = &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	errNestedMail      = &gosmtp.SMTPError{Code: 503, EnhancedCode: gosmtp.EnhancedCode{5, 5, 1}, Message: "Nested MAIL command (RFC 5321 4.1.4)"}
	errBadHelo         = &gosmtp.SMTPError{Code: 501, EnhancedCode: gosmtp.EnhancedCode{5, 5, 2}, Message: "Invalid characters in HELO/EHLO argument"}
	errNoStorage       = &gosmtp.SMTPError{Code: 452, EnhancedCode: gosmtp.EnhancedCode{4, 3, 1}, Message: "Insufficient system storage, try again later"}
	errRequireTLSPlain = &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 10}, Message: "REQUIRETLS needs a TLS session: issue STARTTLS first"}
)

// printable reports whether s has no control characters (a NUL in a
// command is refused, never truncated).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// Mail starts a transaction.
func (s *session) Mail(from string, opts *gosmtp.MailOptions) error {
	if s.kind != MX && s.user == "" {
		return errAuthRequired
	}
	if s.inTx {
		return errNestedMail
	}
	if h := s.srv.opts.Headroom; h != nil && h.Low() {
		// Before the body: the client keeps the message and retries.
		s.srv.opts.Metrics.NoStorage.Add(1)
		return errNoStorage
	}
	// A later EHLO does not make a new session: take its name now.
	if s.helo = s.conn.Hostname(); !printable(s.helo) {
		return errBadHelo
	}
	if !printable(from) {
		return errBadAddress
	}
	if !opts.UTF8 && !isASCII(from) {
		return errNeedUTF8
	}
	if opts.RequireTLS && s.tls == nil {
		// go-smtp advertises REQUIRETLS only after STARTTLS but takes the
		// parameter on any session; RFC 8689 defines it for TLS sessions only.
		return errRequireTLSPlain
	}
	if s.kind != MX && s.srv.opts.RequireFromMatch && (from == "" || !s.srv.opts.Accounts.Owns(s.user, from)) {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1},
			Message: fmt.Sprintf("Sender address <%s> does not belong to user %s", from, s.user)}
	}
	if s.msg == nil {
		s.begin()
	}
	s.inTx, s.from, s.utf8, s.requireTLS, s.size = true, from, opts.UTF8, opts.RequireTLS, opts.Size
	s.busy.Store(true)
	s.msg.Envelope.MailFrom = from
	s.msg.Envelope.AuthUser = s.user
	if s.early == nil {
		s.evaluate(engine.PhaseMail)
	}
	return nil
}

// Rcpt accepts a recipient: local domains for everyone, any domain for
// authenticated users, then the rules of the RCPT phase.
func (s *session) Rcpt(to string, opts *gosmtp.RcptOptions) error {
	to = s.srv.postmaster(to)
	dest, err := s.srv.resolveRcpt(to, s.user != "", s.utf8)
	if err == errIsSRS {
		dest, err = s.srsRcpt(to)
	}
	if err != nil {
		s.refused(to, err)
		return err
	}
	if s.early != nil {
		s.logVerdict("", *s.early, engine.PhaseRcpt, to)
		s.refuseRcpt(s.early.Action)
		return verdictError(*s.early)
	}
	if err := s.checkQuota(dest, s.size); err != nil {
		return err
	}
	s.msg.Envelope.Rcpt = append(s.msg.Envelope.Rcpt, to)
	v := s.evaluate(engine.PhaseRcpt)
	if v.Decided && v.Final() {
		s.msg.Envelope.Rcpt = s.msg.Envelope.Rcpt[:len(s.msg.Envelope.Rcpt)-1]
		s.logVerdict("", v, engine.PhaseRcpt, to)
		s.refuseRcpt(v.Action)
		return verdictError(v)
	}
	s.rcpts = append(s.rcpts, acceptedRcpt{addr: to, to: dest})
	return nil
}

// refused logs and counts a recipient refused before the rules.
func (s *session) refused(to string, err error) {
	m := s.srv.opts.Metrics
	switch err {
	case errRelayDenied:
		m.RelayDenied.Add(1)
	case errNoSuchUser:
		m.UnknownRcpt.Add(1)
	}
	s.srv.log.Info("recipient refused", "session", s.id, "ip", s.ip.String(), "listener", s.kind,
		"helo", s.helo, "user", s.user, "from", s.from, "rcpt", to, "reply", err.Error())
}

// verdictError is the SMTP reply for a reject or tempfail verdict.
func verdictError(v engine.Verdict) error {
	code, enh, text := v.Code, v.Enhanced, v.Text
	if code == 0 {
		if v.Action == engine.ActionTempfail {
			code, enh, text = engine.DefaultTempfailCode, engine.DefaultTempfailEnhanced, engine.DefaultTempfailText
		} else {
			code, enh, text = engine.DefaultRejectCode, engine.DefaultRejectEnhanced, engine.DefaultRejectText
		}
	}
	if text == "" {
		text = "Message refused"
	}
	return &gosmtp.SMTPError{Code: code, EnhancedCode: parseEnhanced(enh, code), Message: text}
}

func parseEnhanced(s string, code int) gosmtp.EnhancedCode {
	parts := strings.Split(s, ".")
	if len(parts) == 3 {
		var ec gosmtp.EnhancedCode
		ok := true
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			ok = ok && err == nil
			ec[i] = n
		}
		if ok && ec[0] == code/100 {
			return ec
		}
	}
	return gosmtp.EnhancedCodeNotSet
}
