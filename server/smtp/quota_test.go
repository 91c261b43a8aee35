package smtp

import (
	"strings"
	"testing"
)

// A user over quota gets 452 4.2.2 (may free space); a message larger than
// the whole quota gets 552 5.2.2; both before anything is queued.
func TestQuota(t *testing.T) {
	h := newHarness(t, harnessOpts{quota: 4096})
	small := simpleMessage("s@example.org", "alice@example.net", "fits", strings.Repeat("x", 900))
	if err := h.send("s@example.org", []string{"alice@example.net"}, small); err != nil {
		t.Fatal(err)
	}
	h.mailbox("alice@example.net", "INBOX", 1)
	big := simpleMessage("s@example.org", "alice@example.net", "too big", strings.Repeat(strings.Repeat("y", 70)+"\r\n", 80))
	if err := h.send("s@example.org", []string{"alice@example.net"}, big); smtpCode(err) != 552 || !strings.Contains(err.Error(), "quota") {
		t.Errorf("message over the quota: %v", err)
	}
	c := dialConv(t, h.mx)
	c.expect250("EHLO client.example.org")
	c.expect250("MAIL FROM:<s@example.org> SIZE=3500")
	if r := c.cmd("RCPT TO:<alice@example.net>"); !strings.HasPrefix(r, "452 4.2.2") {
		t.Errorf("RCPT with a SIZE that does not fit: %q", r)
	}
	c.expect250("RCPT TO:<bob@example.net>") // bob has room
	if n := len(h.spy.envelopes()); n != 1 {
		t.Errorf("%d queued, want 1", n)
	}
}
