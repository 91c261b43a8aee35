package smtp

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
)

// sendOpts is send with MAIL FROM parameters, through go-smtp's client
// on the MX listener.
func (h *harness) sendOpts(from string, to []string, msg string, opts *gosmtp.MailOptions) error {
	c, err := gosmtp.Dial(h.mx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.example.org"); err != nil {
		return err
	}
	if err := c.Mail(from, opts); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	return w.Close()
}

// TestPostmasterWithoutDomain: RCPT TO:<Postmaster> (RFC 5321 4.1.1.3,
// 4.5.1) is the postmaster of the first configured domain, resolved like
// any address: its own account or alias if it has one, else the domain's
// first account; with no account at all, a temporary refusal.
func TestPostmasterWithoutDomain(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	if err := h.send("a@example.org", []string{"Postmaster"}, simpleMessage("a@example.org", "postmaster", "to the postmaster", "x")); err != nil {
		t.Fatal(err)
	}
	got := h.mailbox("alice@example.net", "INBOX", 1)[0] // the first account of example.net
	if !strings.Contains(got, "for <postmaster@example.net>") {
		t.Errorf("Received does not name the postmaster:\n%s", got)
	}
	if err := h.accounts.SetAlias("postmaster@example.net", []string{"bob@example.net"}); err != nil {
		t.Fatal(err)
	}
	if err := h.send("a@example.org", []string{"POSTMASTER"}, simpleMessage("a@example.org", "postmaster", "to the alias", "x")); err != nil {
		t.Fatal(err)
	}
	h.mailbox("bob@example.net", "INBOX", 1)
	h.mailbox("alice@example.net", "INBOX", 1) // still one

	if err := h.accounts.DeleteAlias("postmaster@example.net"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice@example.net", "bob@example.net", "relaytest@example.net"} {
		if err := h.accounts.DeleteUser(u); err != nil {
			t.Fatal(err)
		}
	}
	err := h.send("a@example.org", []string{"Postmaster"}, simpleMessage("a@example.org", "postmaster", "nobody home", "x"))
	var se *gosmtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != (gosmtp.EnhancedCode{4, 3, 0}) {
		t.Fatalf("with no account: %v, want 451 4.3.0", err)
	}
}

// TestInternationalDelivery: an EAI sender and recipients (UTF-8 local
// part; a domain configured as an A-label and written as a U-label) are
// accepted with SMTPUTF8 and the message, UTF-8 header and all, lands in
// both Maildirs; the queue keeps the SMTPUTF8 flag for the relay.
func TestInternationalDelivery(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	for _, u := range []string{"jörg@example.net", "anna@xn--bcher-kva.example.net"} {
		if err := h.accounts.AddUser(u, "password1"); err != nil {
			t.Fatal(err)
		}
	}
	msg := "From: Müller <müller@例え.jp>\r\nTo: jörg@example.net\r\nSubject: Grüße aus 東京\r\n" +
		"Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <eai@example.jp>\r\n\r\nHallo\r\n"
	to := []string{"jörg@example.net", "anna@bücher.example.net"}
	err := h.sendOpts("müller@例え.jp", to, msg, nil)
	var se *gosmtp.SMTPError
	if !errors.As(err, &se) || se.Code != 553 || se.EnhancedCode != (gosmtp.EnhancedCode{5, 6, 7}) {
		t.Fatalf("without SMTPUTF8: %v, want 553 5.6.7", err)
	}
	if err := h.sendOpts("müller@例え.jp", to, msg, &gosmtp.MailOptions{UTF8: true}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"jörg@example.net", "anna@xn--bcher-kva.example.net"} {
		got := h.mailbox(u, "INBOX", 1)[0]
		for _, want := range []string{"Subject: Grüße aus 東京\r\n", "with UTF8SMTP id", "Return-Path: <müller@例え.jp>"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: no %q in\n%s", u, want, got)
			}
		}
	}
	if envs := h.spy.envelopes(); len(envs) != 1 || !envs[0].UTF8 || envs[0].RequireTLS {
		t.Fatalf("queued %+v, want the SMTPUTF8 flag alone", envs)
	}
}

// TestRequireTLSQueued: REQUIRETLS given over STARTTLS on submission
// reaches the queue with the message, for the relay to honour.
func TestRequireTLSQueued(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c, err := gosmtp.DialStartTLS(h.sub, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(plainAuth("alice@example.net", "password1")); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("REQUIRETLS"); !ok {
		t.Fatal("REQUIRETLS not advertised after STARTTLS")
	}
	msg := simpleMessage("alice@example.net", "friend@example.org", "secret", "x")
	if err := c.Mail("alice@example.net", &gosmtp.MailOptions{RequireTLS: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("friend@example.org", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(msg))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if envs := h.spy.envelopes(); len(envs) != 1 || !envs[0].RequireTLS || envs[0].Rcpt[0].Addr != "friend@example.org" {
		t.Fatalf("queued %+v, want REQUIRETLS kept", envs)
	}
}
