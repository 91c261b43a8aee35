package smtp

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/authres"
)

// finalMessage is what goes to the queue: our trace fields on top (RFC 5321
// 4.4), the rules' header fields and subject tag, and for authenticated
// senders a DKIM signature over all of that (signing comes last so that it
// covers the fields we add).
func (s *session) finalMessage(raw []byte, v engine.Verdict) []byte {
	var top bytes.Buffer
	if s.kind == MX {
		top.WriteString(s.authResults())
		top.WriteString(s.spamStatus(v)) // for the users' Sieve spamtest
	}
	s.receivedField = s.received()
	top.WriteString(s.receivedField)
	for _, f := range v.Headers {
		fmt.Fprintf(&top, "%s: %s\r\n", f.Name, oneLine(f.Value))
	}
	if v.Tag != "" {
		raw = tagSubject(raw, oneLine(v.Tag))
	}
	out := append(top.Bytes(), raw...)
	if s.wantSign(v) {
		signed, err := s.srv.opts.Signer.Sign(out)
		if err == nil {
			return signed
		}
		s.srv.log.Info("not DKIM-signed", "session", s.id, "err", err)
	}
	return out
}

func (s *session) wantSign(v engine.Verdict) bool {
	if s.srv.opts.Signer == nil {
		return false
	}
	if v.DKIMSign != nil {
		return *v.DKIMSign
	}
	return s.kind != MX
}

// received is our Received field: the client's HELO, address and TLS
// session, our name, and the protocol keyword of RFC 3848 / RFC 6531.
func (s *session) received() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Received: from %s (%s[%s])", oneLine(s.helo), s.rdnsName(), s.ip)
	if s.tls != nil {
		fmt.Fprintf(&b, "\r\n\t(using %s with cipher %s)", tls.VersionName(s.tls.Version), tls.CipherSuiteName(s.tls.CipherSuite))
	}
	fmt.Fprintf(&b, "\r\n\tby %s (sluice) with %s id %s", s.srv.opts.Hostname, s.protocol(), s.id)
	if len(s.rcpts) == 1 {
		fmt.Fprintf(&b, "\r\n\tfor <%s>", s.rcpts[0].addr)
	}
	fmt.Fprintf(&b, "; %s\r\n", time.Now().Format(time.RFC1123Z))
	return b.String()
}

func (s *session) rdnsName() string {
	if s.tx == nil {
		return ""
	}
	if f := s.tx.Facts(); f.Rdns.FCrDNS && len(f.Rdns.Names) > 0 {
		return strings.TrimSuffix(f.Rdns.Names[0], ".") + " "
	}
	return ""
}

func (s *session) protocol() string {
	p := "ESMTP"
	if s.utf8 {
		p = "UTF8SMTP"
	}
	if s.tls != nil {
		p += "S"
	}
	if s.user != "" {
		p += "A"
	}
	return p
}

func (s *session) spamStatus(v engine.Verdict) string {
	var bayes engine.BayesFacts
	if s.tx != nil {
		bayes = s.tx.Facts().Bayes
	}
	return engine.SpamStatus(v.Score, bayes)
}

// authResults is our Authentication-Results field (RFC 8601) for the
// checks that ran, with our host name as authserv-id.
func (s *session) authResults() string {
	f := &engine.Facts{}
	if s.tx != nil {
		f = s.tx.Facts()
	}
	return authres.Field(s.srv.opts.Hostname, f)
}

// field is one header field's place in raw: [start, end) including its
// continuation lines and final CRLF.
type field struct {
	name                   string
	start, valueStart, end int
}

// headerFields lists the fields of the header block of a CRLF message.
func headerFields(raw []byte) []field {
	var out []field
	pos := 0
	for pos < len(raw) {
		eol := bytes.Index(raw[pos:], []byte("\r\n"))
		if eol <= 0 { // blank line (end of header) or no line end
			return out
		}
		next := pos + eol + 2
		if raw[pos] == ' ' || raw[pos] == '\t' {
			if n := len(out); n > 0 {
				out[n-1].end = next
			}
			pos = next
			continue
		}
		colon := bytes.IndexByte(raw[pos:pos+eol], ':')
		if colon > 0 {
			out = append(out, field{name: strings.TrimSpace(string(raw[pos : pos+colon])), start: pos, valueStart: pos + colon + 1, end: next})
		}
		pos = next
	}
	return out
}

// tagSubject prefixes the Subject with tag (adding a Subject if there is
// none), unless it already starts with it.
func tagSubject(raw []byte, tag string) []byte {
	for _, f := range headerFields(raw) {
		if !strings.EqualFold(f.name, "Subject") {
			continue
		}
		value := strings.TrimLeft(string(raw[f.valueStart:f.end]), " \t")
		if strings.HasPrefix(value, tag) {
			return raw
		}
		out := append([]byte(nil), raw[:f.valueStart]...)
		out = append(out, ' ')
		out = append(out, tag...)
		out = append(out, ' ')
		return append(out, raw[f.end-len(value):]...)
	}
	return append([]byte("Subject: "+tag+"\r\n"), raw...)
}

// checkFromHeader makes sure every From address belongs to the user.
func (s *session) checkFromHeader(raw []byte) error {
	from, _ := engine.NewMessage(engine.Envelope{}, raw).Header().Addresses("From")
	if len(from) == 0 {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 6, 0}, Message: "Message has no valid From header"}
	}
	for _, a := range from {
		if !s.srv.opts.Accounts.Owns(s.user, a.Address) {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1},
				Message: fmt.Sprintf("From address <%s> does not belong to user %s", a.Address, s.user)}
		}
	}
	return nil
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
}
