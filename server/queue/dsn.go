package queue

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"
)

// bounce queues a delivery status notification (RFC 3464) for the failed
// recipients back to the sender. There is none for the null sender: a DSN
// itself has the null sender, so a bounce never bounces (RFC 5321 section
// 4.5.5).
func (q *Queue) bounce(m *message, raw []byte, fails []failure) error {
	if m.env.From == "" {
		q.log.Info("no DSN for the null sender", "id", m.id, "failed", len(fails))
		return nil
	}
	to, ok := q.routeDSN(m)
	if !ok || len(to) == 0 {
		q.log.Warn("no route for DSN", "id", m.id, "sender", m.env.From)
		return nil
	}
	dsn := buildDSN(q.opts.Hostname, m, raw, fails, q.opts.Now())
	if q.opts.Sign != nil {
		if signed, err := q.opts.Sign(dsn); err == nil {
			dsn = signed
		} else {
			q.log.Warn("DSN not signed", "id", m.id, "err", err)
		}
	}
	// The report quotes the message's header, so it travels under the same
	// terms: SMTPUTF8 when that header may hold UTF-8, and REQUIRETLS when
	// the sender asked for it (RFC 8689 section 5).
	env := Envelope{Rcpt: to, Reason: "dsn for " + m.id, UTF8: m.env.UTF8, RequireTLS: m.env.RequireTLS}
	id, err := q.Put(context.Background(), env, dsn)
	if err != nil {
		return err
	}
	q.counts.dsns.Add(1)
	q.log.Info("DSN queued", "id", m.id, "dsn", id, "to", m.env.From, "failed", len(fails))
	return nil
}

// routeDSN decides where the DSN for m goes: the submitting user's INBOX
// for submitted mail (whatever address it was sent from), else
// Options.Route when set, else the relay.
func (q *Queue) routeDSN(m *message) ([]Recipient, bool) {
	if m.env.AuthUser != "" {
		return []Recipient{{Addr: m.env.From, Local: true, User: m.env.AuthUser, Mailbox: "INBOX"}}, true
	}
	if q.opts.Route != nil {
		return q.opts.Route(m.env.From)
	}
	return []Recipient{{Addr: m.env.From}}, true
}

// buildDSN writes a multipart/report (RFC 6522) with a human-readable
// part, the message/delivery-status part (RFC 3464) and the headers of the
// original message (text/rfc822-headers).
func buildDSN(host string, m *message, raw []byte, fails []failure, now time.Time) []byte {
	boundary := fmt.Sprintf("=_dsn_%s", m.id)
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	w("From: Mail Delivery System <MAILER-DAEMON@%s>", host)
	w("To: <%s>", m.env.From)
	w("Subject: Undelivered Mail Returned to Sender")
	w("Date: %s", now.Format(time.RFC1123Z))
	w("Message-ID: <%s.dsn@%s>", m.id, host)
	w("Auto-Submitted: auto-replied")
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=delivery-status; boundary=\"%s\"", boundary)
	w("")
	w("This is a MIME-encapsulated message.")
	w("")
	w("--%s", boundary)
	w("Content-Type: text/plain; charset=utf-8")
	w("Content-Description: Notification")
	w("")
	w("This is the mail system at host %s.", host)
	w("")
	w("Your message could not be delivered to one or more recipients.")
	w("It has not been delivered and will not be retried.")
	w("")
	for _, f := range fails {
		w("<%s>: %s", m.env.Rcpt[f.index].Addr, f.diag)
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: message/delivery-status")
	w("Content-Description: Delivery report")
	w("")
	w("Reporting-MTA: dns; %s", host)
	w("X-Sluice-Queue-ID: %s", m.id)
	w("Arrival-Date: %s", m.env.Received.Format(time.RFC1123Z))
	for _, f := range fails {
		w("")
		w("Final-Recipient: rfc822; %s", oneLine(m.env.Rcpt[f.index].Addr))
		w("Action: failed")
		w("Status: %s", dsnStatus(f.status))
		if f.remote != "" {
			w("Remote-MTA: dns; %s", oneLine(f.remote))
		}
		w("Diagnostic-Code: %s", oneLine(f.diag))
		w("Last-Attempt-Date: %s", now.Format(time.RFC1123Z))
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: text/rfc822-headers")
	w("Content-Description: Undelivered message headers")
	w("")
	b.Write(headersOf(raw))
	w("")
	w("--%s--", boundary)
	return b.Bytes()
}

// dsnStatus makes a failure status permanent-class as RFC 3464 requires
// for Action: failed (an expiry after 4xx replies is reported as 4.4.7 by
// convention, which readers accept; anything else odd becomes 5.0.0).
func dsnStatus(s string) string {
	if len(s) >= 5 && (s[0] == '5' || s == "4.4.7") && s[1] == '.' {
		return s
	}
	return "5.0.0"
}

// headersOf returns the header block of raw, with CRLF line ends and
// without the blank line, capped so a huge header cannot bloat the DSN.
func headersOf(raw []byte) []byte {
	end := len(raw)
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		end = i + 2
	} else if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		end = i + 1
	}
	h := raw[:min(end, 64<<10)]
	s := strings.ReplaceAll(string(h), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.TrimRight(s, "\n")
	return []byte(strings.ReplaceAll(s, "\n", "\r\n") + "\r\n")
}
