package main

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/smtp"
)

// TestServeHonoursMailParams submits through the whole server two
// messages the remote MX (relaytest: STARTTLS with a certificate nobody
// trusts, no SMTPUTF8, no REQUIRETLS) cannot carry as asked: one to a
// UTF-8 address with SMTPUTF8, one with REQUIRETLS. Neither reaches it;
// alice gets a DSN for each, with the RFC status (5.6.7, 5.7.30).
func TestServeHonoursMailParams(t *testing.T) {
	e := newE2E(t, e2eInbound)
	c, err := gosmtp.DialStartTLS(e.addr(smtp.Submission), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.net", "password1")); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		to   string
		opts gosmtp.MailOptions
	}{
		{"jörg@remote.example", gosmtp.MailOptions{UTF8: true}},
		{"bob@remote.example", gosmtp.MailOptions{RequireTLS: true}},
	} {
		if err := c.Mail("alice@example.net", &m.opts); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(m.to, nil); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(message("alice@example.net", m.to, "needs "+m.to)))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	dsns := strings.Join(e.mailbox("alice@example.net", "INBOX", 2), "\n")
	for _, want := range []string{"Status: 5.6.7", "Status: 5.7.30", "SMTPUTF8", "REQUIRETLS"} {
		if !strings.Contains(dsns, want) {
			t.Errorf("DSNs lack %q:\n%s", want, dsns)
		}
	}
	if got := e.remote.Messages(); len(got) != 0 {
		t.Errorf("the remote MX got %d messages", len(got))
	}
}
