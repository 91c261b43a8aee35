package smtp

import (
	"strings"
	"testing"
	"time"
)

// TestSoftBounce drives the real MX and submission listeners with
// soft_bounce on: every permanent refusal, from a rule, from the
// recipient checks and from go-smtp itself, reaches the client as 4xx,
// and the log keeps the reply it replaced. Authentication failures and
// replies already temporary are untouched.
func TestSoftBounce(t *testing.T) {
	h := newHarness(t, harnessOpts{modify: func(o *Options) { o.SoftBounce = true }})

	c := dialConv(t, h.mx)
	c.expect250("EHLO client.example.org")
	for _, step := range []struct{ cmd, want string }{
		{"MAIL FROM:<a@example.org> SIZE=999999999", "452 4.3.4 Max message size exceeded"},
		{"MAIL FROM:<spammer@bad.example>", "250"},
		{"RCPT TO:<alice@example.net>", "450 4.7.1 Sender spammer@bad.example refused"},
		{"RSET", "250"},
		{"MAIL FROM:<a@example.org>", "250"},
		{"RCPT TO:<nobody@example.net>", "450 4.1.1 No such user here"},
		{"RCPT TO:<someone@elsewhere.example>", "450 4.7.1 Relay access denied"},
		{"RCPT TO:<alice@example.net>", "250"},
		{"DATA", "354"},
	} {
		if r := c.cmd("%s", step.cmd); !strings.HasPrefix(r, step.want) {
			t.Fatalf("%s: got %q, want %q", step.cmd, r, step.want)
		}
	}
	c.send(strings.ReplaceAll(simpleMessage("a@example.org", "alice@example.net", "BUY NOW cheap", "x"), "\r\n.", "\r\n..") + ".\r\n")
	if r := c.reply(); !strings.HasPrefix(r, "454 4.7.1 Spam content refused") {
		t.Fatalf("DATA refused by a rule: %q", r)
	}
	c.expect250("MAIL FROM:<a@example.org>")
	c.expect250("RCPT TO:<bob@example.net>")
	if r := c.cmd("DATA"); !strings.HasPrefix(r, "354") {
		t.Fatalf("DATA: %q", r)
	}
	c.send(simpleMessage("a@example.org", "bob@example.net", "TEMPFAIL please", "x") + ".\r\n")
	if r := c.reply(); !strings.HasPrefix(r, "451 4.7.1 Try later") {
		t.Fatalf("a tempfail stays as it was: %q", r)
	}

	sub := dialConv(t, h.sub)
	sub.expect250("EHLO client.example.org")
	sub.startTLS()
	sub.expect250("EHLO client.example.org")
	if r := sub.cmd("AUTH PLAIN %s", plainIR("alice@example.net", "wrong")); !strings.HasPrefix(r, "535 5.7.8") {
		t.Errorf("a wrong password is not softened: %q", r)
	}

	logs := h.logs.String()
	for _, want := range []string{
		`code=550 enhanced=5.7.1 text="Sender spammer@bad.example refused" sent=450`,
		`code=550 enhanced=5.1.1 text="No such user here" sent=450`,
		`code=554 enhanced=5.7.1 text="Spam content refused" sent=454`,
		`code=552 enhanced=5.3.4 text="Max message size exceeded" sent=452`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s", want)
		}
	}
	if n := strings.Count(logs, "soft_bounce:"); n != 5 {
		t.Errorf("%d soft_bounce lines, want 5 (MAIL SIZE, rule at RCPT, no user, relay, rule at DATA)", n)
	}
	if msgs := h.messages("alice@example.net", "INBOX"); len(msgs) != 0 {
		t.Errorf("a refused message was delivered: %d", len(msgs))
	}
}

// TestSoftBounceEarlyTalker: the refusal of a client that talks before
// the greeting, written before any SMTP session exists, is softened too.
func TestSoftBounceEarlyTalker(t *testing.T) {
	h := newHarness(t, harnessOpts{modify: func(o *Options) { o.SoftBounce = true; o.GreetDelay = 300 * time.Millisecond }})
	c := dialConvRaw(t, h.mx)
	c.send("EHLO client.example.org\r\n")
	if r := c.reply(); !strings.HasPrefix(r, "454 4.5.1 Protocol error") {
		t.Errorf("early talker under soft bounce: %q", r)
	}
	if logs := h.logs.String(); !strings.Contains(logs, `code=554 enhanced=5.5.1 text="Protocol error: you talked before the greeting" sent=454`) {
		t.Errorf("log lacks the replaced 554:\n%s", logs)
	}
	if n := h.srv.Metrics().Pregreet.Load(); n != 1 {
		t.Errorf("pregreet counter %d", n)
	}
}
