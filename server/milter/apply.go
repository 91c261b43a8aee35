package milter

import (
	"bytes"
	"strings"

	gomilter "github.com/d--j/go-milter"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/authres"
)

// JunkHeader is added to mail the rules file as junk: behind an MTA,
// sluice has no Junk mailbox of its own, so the MTA's local delivery
// (a Sieve rule, procmail, maildrop) files on it.
const JunkHeader = "X-Spam"

// apply turns the final verdict into the end-of-message reply and the
// modifications: our Authentication-Results (forged ones with our
// authserv-id removed), the rules' header fields and subject tag, the junk
// header, quarantine, redirect, and last a DKIM signature for outbound
// mail, which covers what we added.
func (s *session) apply(v engine.Verdict, m gomilter.Modifier) (*gomilter.Response, error) {
	switch v.Action {
	case engine.ActionReject, engine.ActionTempfail:
		return reply(v)
	case engine.ActionDiscard:
		return gomilter.RespDiscard, nil
	}
	var added []headerField
	insert := func(name, value string) error {
		added = append(added, headerField{name: name, value: " " + value})
		return m.InsertHeader(len(added)-1, name, wire(m, value))
	}
	// fields is the header as the MTA will hold it after our edits, which
	// a DKIM signature must cover.
	fields := s.fields
	if s.user == "" {
		var err error
		if fields, err = s.stripForged(m); err != nil {
			return nil, err
		}
		name, value, _ := strings.Cut(strings.TrimRight(authres.Field(s.authservID(), s.tx.Facts()), "\r\n"), ":")
		if err := insert(name, strings.TrimLeft(value, " ")); err != nil {
			return nil, err
		}
	}
	for _, f := range v.Headers {
		if err := insert(f.Name, oneLine(f.Value)); err != nil {
			return nil, err
		}
	}
	switch v.Action {
	case engine.ActionJunk:
		if err := insert(JunkHeader, "Yes"); err != nil {
			return nil, err
		}
	case engine.ActionQuarantine:
		if err := m.Quarantine("sluice: " + strings.Join(v.Rules(), ", ")); err != nil {
			return nil, err
		}
	case engine.ActionRedirect:
		for _, r := range s.msg.Envelope.Rcpt {
			if err := m.DeleteRecipient(r); err != nil {
				return nil, err
			}
		}
		if err := m.AddRecipient(v.Redirect, ""); err != nil {
			return nil, err
		}
	}
	if v.Tag != "" {
		var err error
		if fields, err = s.tagSubject(m, fields, oneLine(v.Tag)); err != nil {
			return nil, err
		}
	}
	if s.wantSign(v) {
		if err := s.sign(m, added, fields); err != nil {
			return nil, err
		}
	}
	return gomilter.RespAccept, nil
}

// authservID is the name in our Authentication-Results.
func (s *session) authservID() string {
	if s.srv.opts.AuthservID != "" {
		return s.srv.opts.AuthservID
	}
	return s.mtaFQD
}

// stripForged deletes every Authentication-Results field that claims our
// authserv-id (RFC 8601 section 5): only we may say what we checked. It
// returns the fields that remain.
func (s *session) stripForged(m gomilter.Modifier) ([]headerField, error) {
	id := s.authservID()
	n, deleted := 0, 0
	kept := make([]headerField, 0, len(s.fields))
	for _, f := range s.fields {
		if !strings.EqualFold(f.name, "Authentication-Results") {
			kept = append(kept, f)
			continue
		}
		n++
		one := []byte(f.name + ":" + f.value + "\r\n\r\n")
		if len(authres.Strip(one, id)) == len(one) {
			kept = append(kept, f)
			continue
		}
		// ChangeHeader indexes the fields of a name from 1, as they
		// are now: each deletion moves the later ones up (Postfix;
		// the real-Postfix test checks it).
		if err := m.ChangeHeader(n-deleted, f.name, ""); err != nil {
			return nil, err
		}
		deleted++
	}
	return kept, nil
}

// tagSubject prefixes the Subject, once, and returns fields as they are
// after it.
func (s *session) tagSubject(m gomilter.Modifier, fields []headerField, tag string) ([]headerField, error) {
	for i, f := range fields {
		if strings.EqualFold(f.name, "Subject") {
			value := strings.TrimLeft(f.value, " \t")
			if strings.HasPrefix(value, tag) {
				return fields, nil
			}
			out := append([]headerField(nil), fields...)
			out[i].value = " " + tag + " " + value
			return out, m.ChangeHeader(1, f.name, wire(m, tag+" "+value))
		}
	}
	return append(fields[:len(fields):len(fields)], headerField{name: "Subject", value: " " + tag}), m.AddHeader("Subject", wire(m, tag))
}

func (s *session) wantSign(v engine.Verdict) bool {
	if s.srv.opts.Signer == nil {
		return false
	}
	if v.DKIMSign != nil {
		return *v.DKIMSign
	}
	return s.user != ""
}

// sign computes the DKIM signature over the message as the MTA will pass
// it on (our fields on top of the fields it holds after our edits, then the
// body) and adds the signature field.
func (s *session) sign(m gomilter.Modifier, added, fields []headerField) error {
	var msg bytes.Buffer
	for _, f := range added {
		msg.WriteString(f.name + ":" + f.value + "\r\n")
	}
	for _, f := range fields {
		msg.WriteString(f.name + ":" + f.value + "\r\n")
	}
	msg.WriteString("\r\n")
	msg.Write(s.body.Bytes())
	signed, err := s.srv.opts.Signer.Sign(msg.Bytes())
	if err != nil {
		s.srv.log.Info("not DKIM-signed", "user", s.user, "err", err)
		return nil
	}
	sig := signed[:len(signed)-msg.Len()]
	for _, f := range splitFields(sig) {
		if err := m.InsertHeader(0, f.name, wire(m, strings.TrimLeft(f.value, " "))); err != nil {
			return err
		}
	}
	return nil
}

// splitFields cuts a block of header fields into name and value.
func splitFields(b []byte) []headerField {
	var out []headerField
	for _, line := range strings.SplitAfter(string(b), "\r\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1].value += "\r\n" + strings.TrimRight(line, "\r\n")
			continue
		}
		name, value, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ":")
		out = append(out, headerField{name: name, value: value})
	}
	return out
}

// wire is a header value as the MTA takes it: folded lines joined by a
// bare LF (the milter convention; the MTA writes its own line ends), with
// the space after the colon when we negotiated leading spaces (Postfix then
// inserts the value exactly as given), without it otherwise.
func wire(m gomilter.Modifier, value string) string {
	value = strings.ReplaceAll(value, "\r\n", "\n")
	if m.Protocol()&gomilter.OptHeaderLeadingSpace != 0 {
		return " " + value
	}
	return value
}

// oneLine keeps a rule's header value on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}
