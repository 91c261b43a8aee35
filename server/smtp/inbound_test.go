package smtp

import (
	"errors"
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
)

func smtpCode(err error) int {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestReceiveForLocalUser(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	msg := simpleMessage("sender@example.org", "alice@example.net", "hello", "Hi Alice.")
	// A forged Authentication-Results with our authserv-id must go; one
	// from another host stays.
	msg = "Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=forged\r\n" +
		"Authentication-Results: other.example; dkim=pass\r\n" + msg
	if err := h.send("sender@example.org", []string{"Alice@EXAMPLE.NET"}, msg); err != nil {
		t.Fatal(err)
	}
	got := h.mailbox("alice@example.net", "INBOX", 1)[0]
	for _, want := range []string{
		"Received: from client.example.org ([127.0.0.1])",
		"by mx.example.net (sluice) with ESMTP id ",
		"for <Alice@EXAMPLE.NET>",
		"Authentication-Results: mx.example.net; none",
		"Authentication-Results: other.example; dkim=pass",
		"Subject: hello",
		"Hi Alice.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("delivered message lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "forged") {
		t.Errorf("forged Authentication-Results kept:\n%s", got)
	}
	if !strings.Contains(h.logs.String(), "msg=verdict") || !strings.Contains(h.logs.String(), "action=accept") {
		t.Errorf("no verdict log line:\n%s", h.logs.String())
	}
}

func TestAliasAndSubaddress(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	if err := h.send("s@example.org", []string{"team@example.net", "alice+lists@example.net"}, simpleMessage("s@example.org", "team@example.net", "to the team", "x")); err != nil {
		t.Fatal(err)
	}
	// alice is reached twice (team and alice+lists) but gets one copy.
	h.mailbox("alice@example.net", "INBOX", 1)
	h.mailbox("bob@example.net", "INBOX", 1)
}

func TestUnknownUser(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	err := h.send("s@example.org", []string{"nobody@example.net"}, simpleMessage("s@example.org", "nobody@example.net", "x", "x"))
	if smtpCode(err) != 550 || !strings.Contains(err.Error(), "No such user") {
		t.Fatalf("err = %v", err)
	}
}

func TestRejectAtRcptByEnvelopeRule(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := dialConv(t, h.mx)
	c.cmd("EHLO client.example.org")
	c.send("MAIL FROM:<spammer@bad.example>\r\n")
	c.expect("250") // the reject is answered at RCPT, where the client logs the recipient
	c.send("RCPT TO:<alice@example.net>\r\n")
	if r := c.expect("550 5.7.1"); !strings.Contains(r, "Sender spammer@bad.example refused") {
		t.Errorf("reply %q", r)
	}
	c.send("RCPT TO:<bob@example.net>\r\n")
	c.expect("550 5.7.1")
	if len(h.spy.envelopes()) != 0 {
		t.Error("rejected message queued")
	}
	c.expect250("RSET") // the transaction ends; its outcome is counted now
	if n := h.srv.Metrics().Messages(MX, "reject"); n != 1 {
		t.Errorf("reject counted %d times, want once per transaction", n)
	}
}

func TestContentRules(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	send := func(subject string, to ...string) error {
		if len(to) == 0 {
			to = []string{"alice@example.net"}
		}
		return h.send("s@example.org", to, simpleMessage("s@example.org", to[0], subject, "body"))
	}
	if err := send("BUY NOW cheap"); smtpCode(err) != 554 || !strings.Contains(err.Error(), "Spam content refused") {
		t.Errorf("content reject: %v", err)
	}
	if err := send("TEMPFAIL please"); smtpCode(err) != 451 {
		t.Errorf("tempfail: %v", err)
	}
	if err := send("cheap viagra"); err != nil {
		t.Fatal(err)
	}
	junk := h.mailbox("alice@example.net", "Junk", 1)[0]
	if !strings.Contains(junk, "X-Spam-Flag: YES") {
		t.Errorf("junk message lacks the rule's header:\n%s", junk)
	}
	if err := send("HOLD this"); err != nil {
		t.Fatal(err)
	}
	if err := send("DROP this"); err != nil {
		t.Fatal(err)
	}
	if err := send("REDIRECT this"); err != nil {
		t.Fatal(err)
	}
	h.mailbox("bob@example.net", "INBOX", 1)
	if err := send("special offer"); err != nil {
		t.Fatal(err)
	}
	tagged := h.mailbox("alice@example.net", "INBOX", 1)[0]
	if !strings.Contains(tagged, "Subject: [SPAM?] special offer") || !strings.Contains(tagged, "X-Offer: yes") {
		t.Errorf("tag/header not applied:\n%s", tagged)
	}
	h.idle()
	var held, dropped int
	for _, env := range h.spy.envelopes() {
		if env.Quarantine {
			held++
		}
	}
	if held != 1 {
		t.Errorf("%d quarantined, want 1", held)
	}
	// 4 queued: junk, hold, redirect, offer; discard and rejects never are.
	if n := len(h.spy.envelopes()); n != 4 {
		t.Errorf("%d messages queued, want 4", n)
	}
	_ = dropped
	if got := len(h.messages("alice@example.net", "INBOX")); got != 1 {
		t.Errorf("alice INBOX has %d messages, want 1 (held, dropped and redirected mail must not arrive)", got)
	}
	m := h.srv.Metrics()
	for action, want := range map[string]int64{"reject": 1, "tempfail": 1, "junk": 1, "quarantine": 1, "discard": 1, "redirect": 1, "accept": 1} {
		if got := m.Messages(MX, action); got != want {
			t.Errorf("metric %s = %d, want %d", action, got, want)
		}
	}
}
