package milter

import (
	"bytes"
	"context"
	"net/netip"
	"strconv"
	"strings"

	gomilter "github.com/d--j/go-milter"
	"github.com/sluicemail/sluice/engine"
)

// Listener is the conn.listener fact of mail that came through the milter.
const Listener = "milter"

// maxMessage bounds what a session holds of one message; past it the
// message is tempfailed rather than checked in part (the MTA's own
// message_size_limit is normally far below).
const maxMessage = 64 << 20

// session is one milter connection, which the MTA uses for one SMTP
// connection; go-milter calls it from one goroutine.
type session struct {
	srv *Server
	ctx context.Context

	ip     netip.Addr
	port   int
	helo   string
	mtaFQD string // macro j

	// The current message.
	pipeline string // inbound or outbound
	tx       *engine.Tx
	msg      *engine.Message
	user     string
	fields   []headerField
	head     bytes.Buffer
	body     bytes.Buffer
	big      bool
}

// headerField is one field as the MTA passed it, in order: its place among
// the fields of its name is what ChangeHeader needs.
type headerField struct {
	name, value string
}

// NewConnection implements gomilter.Milter.
func (s *session) NewConnection(m gomilter.Modifier) error {
	s.ctx = context.Background()
	s.srv.opts.Metrics.sessions.Inc()
	return nil
}

// Connect takes the client's address; a local (non-TCP) client has none.
func (s *session) Connect(host, family string, port uint16, addr string, m gomilter.Modifier) (*gomilter.Response, error) {
	if ip, err := netip.ParseAddr(strings.Trim(addr, "[]")); err == nil {
		s.ip = ip.Unmap()
	}
	s.port, _ = strconv.Atoi(m.Get(gomilter.MacroDaemonPort))
	s.mtaFQD = m.Get(gomilter.MacroMTAFQDN)
	return gomilter.RespContinue, nil
}

// Helo implements gomilter.Milter.
func (s *session) Helo(name string, m gomilter.Modifier) (*gomilter.Response, error) {
	s.helo = name
	return gomilter.RespContinue, nil
}

// MailFrom starts a message: the pipeline is outbound for a sender the MTA
// authenticated ({auth_authen}), inbound otherwise. Rules on the
// connection, HELO and sender decide here.
func (s *session) MailFrom(from, esmtpArgs string, m gomilter.Modifier) (*gomilter.Response, error) {
	s.reset()
	from = gomilter.RemoveAngle(from)
	s.user = m.Get(gomilter.MacroAuthAuthen)
	s.pipeline = "inbound"
	if s.user != "" {
		s.pipeline = "outbound"
	}
	env := engine.Envelope{IP: s.ip, HELO: s.helo, TLS: m.Get(gomilter.MacroTlsVersion) != "", Listener: Listener,
		Port: s.port, AuthUser: s.user, MailFrom: from}
	s.msg = engine.NewMessage(env, nil)
	if p := s.srv.opts.Pipeline(s.pipeline); p != nil {
		opts := []engine.TxOption{engine.WithLearning()}
		if s.srv.opts.DNS != nil {
			opts = append(opts, engine.WithResolver(s.srv.opts.DNS))
		}
		if r := s.srv.opts.Rules; r != nil {
			opts = append(opts, engine.WithStageObserver(r.Stage))
		}
		s.tx = p.Begin(s.msg, opts...)
	}
	return s.early(engine.PhaseMail, m)
}

// RcptTo checks one recipient; a refused one is left out of the message.
func (s *session) RcptTo(rcpt, esmtpArgs string, m gomilter.Modifier) (*gomilter.Response, error) {
	if s.msg == nil {
		return gomilter.RespContinue, nil
	}
	s.msg.Envelope.Rcpt = append(s.msg.Envelope.Rcpt, gomilter.RemoveAngle(rcpt))
	resp, err := s.early(engine.PhaseRcpt, m)
	if resp != gomilter.RespContinue {
		s.msg.Envelope.Rcpt = s.msg.Envelope.Rcpt[:len(s.msg.Envelope.Rcpt)-1]
	}
	return resp, err
}

// early evaluates the rules known before DATA and answers a decided
// reject or tempfail at once.
func (s *session) early(phase engine.Phase, m gomilter.Modifier) (*gomilter.Response, error) {
	if s.tx == nil {
		return gomilter.RespContinue, nil
	}
	v := s.tx.Evaluate(s.ctx, phase)
	if !v.Decided || !v.Final() {
		return gomilter.RespContinue, nil
	}
	s.logVerdict(v, phase, s.journalVerdict(v, m))
	s.srv.opts.Metrics.replies.WithLabelValues(replyAction(v)).Inc()
	return reply(v)
}

// Data implements gomilter.Milter.
func (s *session) Data(m gomilter.Modifier) (*gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

// Header collects one field as it was sent.
func (s *session) Header(name, value string, m gomilter.Modifier) (*gomilter.Response, error) {
	if m.Protocol()&gomilter.OptHeaderLeadingSpace == 0 {
		value = " " + value // the MTA swallowed the space after the colon
	}
	value = crlf(value)
	s.fields = append(s.fields, headerField{name: name, value: value})
	s.head.WriteString(name + ":" + value + "\r\n")
	s.big = s.big || s.head.Len() > maxMessage
	return gomilter.RespContinue, nil
}

// Headers implements gomilter.Milter.
func (s *session) Headers(m gomilter.Modifier) (*gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

// BodyChunk collects the body.
func (s *session) BodyChunk(chunk []byte, m gomilter.Modifier) (*gomilter.Response, error) {
	if s.head.Len()+s.body.Len()+len(chunk) > maxMessage {
		s.big = true
		return gomilter.RespContinue, nil
	}
	s.body.Write(chunk)
	return gomilter.RespContinue, nil
}

// EndOfMessage runs the rules on the whole message and applies the
// verdict (apply.go).
func (s *session) EndOfMessage(m gomilter.Modifier) (*gomilter.Response, error) {
	replies := s.srv.opts.Metrics.replies
	if s.big {
		replies.WithLabelValues(replyTempfail).Inc()
		return gomilter.RejectWithCodeAndReason(452, "4.3.4 Message too big to check, try again later")
	}
	if s.tx == nil {
		replies.WithLabelValues(replyAccept).Inc()
		return gomilter.RespAccept, nil
	}
	s.msg.Raw = append(append(s.head.Bytes(), "\r\n"...), s.body.Bytes()...)
	v := s.tx.Evaluate(s.ctx, engine.PhaseData)
	s.logVerdict(v, engine.PhaseData, s.journalVerdict(v, m))
	resp, err := s.apply(v, m)
	replies.WithLabelValues(answered(v, err)).Inc()
	return resp, err
}

// answered is the replies label of the end-of-message answer to v.
func answered(v engine.Verdict, err error) string {
	switch {
	case err != nil:
		return replyError
	case v.Action == engine.ActionReject || v.Action == engine.ActionTempfail:
		return replyAction(v)
	case v.Action == engine.ActionDiscard:
		return replyDiscard
	}
	return replyAccept
}

// Abort ends the message without an answer (RSET, QUIT mid-message).
func (s *session) Abort(m gomilter.Modifier) error {
	s.reset()
	return nil
}

// Unknown implements gomilter.Milter.
func (s *session) Unknown(cmd string, m gomilter.Modifier) (*gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

// Cleanup implements gomilter.Milter.
func (s *session) Cleanup(m gomilter.Modifier) {
	s.reset()
	s.srv.opts.Metrics.connections.Dec()
}

func (s *session) reset() {
	s.tx, s.msg, s.user, s.pipeline, s.fields, s.big = nil, nil, "", "", nil, false
	s.head.Reset()
	s.body.Reset()
}

// crlf makes a folded header value's line ends CRLF whatever the MTA sent.
func crlf(v string) string {
	if !strings.Contains(v, "\n") {
		return v
	}
	return strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\n", "\r\n")
}

// reply is the milter answer of a reject or tempfail verdict: our code,
// enhanced code and text, as the SMTP server would give them.
func reply(v engine.Verdict) (*gomilter.Response, error) {
	code, enh, text := v.Code, v.Enhanced, v.Text
	if code == 0 {
		if v.Action == engine.ActionTempfail {
			code, enh, text = engine.DefaultTempfailCode, engine.DefaultTempfailEnhanced, engine.DefaultTempfailText
		} else {
			code, enh, text = engine.DefaultRejectCode, engine.DefaultRejectEnhanced, engine.DefaultRejectText
		}
	}
	return gomilter.RejectWithCodeAndReason(uint16(code), strings.TrimSpace(enh+" "+text))
}

func (s *session) logVerdict(v engine.Verdict, phase engine.Phase, journalID string) {
	var rcpt []string
	if s.msg != nil {
		rcpt = s.msg.Envelope.Rcpt
	}
	from := ""
	if s.msg != nil {
		from = s.msg.Envelope.MailFrom
	}
	attrs := []any{"ip", s.ip.String(), "helo", s.helo, "user", s.user, "from", from, "rcpt", rcpt,
		"phase", phase.String(), "action", v.Action, "reply", v.Reply(), "rules", v.Rules(), "score", v.Score, "err", v.Err, "journal", journalID}
	if v.Learn != "" {
		attrs = append(attrs, "learn", v.Learn)
	}
	s.srv.log.Info("milter verdict", attrs...)
	if r := s.srv.opts.Rules; r != nil {
		r.Verdict(s.pipeline, v)
	}
}
