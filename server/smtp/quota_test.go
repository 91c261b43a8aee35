package smtp

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
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

// When the messages being received at once would hold more memory than
// allowed, the one that crosses the limit gets 451 4.3.1; the memory comes
// back when it is refused.
func TestDataMemoryBudget(t *testing.T) {
	h := newHarness(t, harnessOpts{modify: func(o *Options) { o.MaxDataInFlight = 64 << 10 }})
	big := simpleMessage("s@example.org", "alice@example.net", "big", strings.Repeat(strings.Repeat("z", 70)+"\r\n", 2000))
	if err := h.send("s@example.org", []string{"alice@example.net"}, big); smtpCode(err) != 451 {
		t.Errorf("over the budget: %v", err)
	}
	if err := h.send("s@example.org", []string{"alice@example.net"}, simpleMessage("s@example.org", "alice@example.net", "small", "x")); err != nil {
		t.Errorf("after the refusal: %v", err)
	}
	if n := h.srv.mem.used.Load(); n != 0 {
		t.Errorf("%d bytes still counted", n)
	}
}

// The command timeout limits silence, not the whole DATA: a slow sender
// whose data keeps coming is not cut off.
func TestSlowDataIsNotCut(t *testing.T) {
	h := newHarness(t, harnessOpts{modify: func(o *Options) { o.Timeout = 2 * time.Second }})
	c := dialConv(t, h.mx)
	c.expect250("EHLO client.example.org")
	c.expect250("MAIL FROM:<slow@example.org>")
	c.expect250("RCPT TO:<alice@example.net>")
	c.expect354("DATA")
	c.send("Subject: slow\r\n\r\n")
	for i := 0; i < 15; i++ { // 3 s in all, longer than the timeout
		c.send("a line of a slow message\r\n")
		time.Sleep(200 * time.Millisecond)
	}
	c.send(".\r\n")
	c.expect("250")
}

// fullDisk is a Headroom the test turns on and off.
type fullDisk struct{ low atomic.Bool }

func (f *fullDisk) Low() bool { return f.low.Load() }

// TestDiskHeadroom: while the data file system is too full, MAIL gets
// 452 4.3.1 (before any body is sent) on the MX and on submission alike;
// when space returns, the same client is served.
func TestDiskHeadroom(t *testing.T) {
	disk := &fullDisk{}
	h := newHarness(t, harnessOpts{modify: func(o *Options) { o.Headroom = disk }})
	c := dialConv(t, h.mx)
	c.expect250("EHLO client.example.org")
	disk.low.Store(true)
	want(t, c.cmd("MAIL FROM:<a@example.org>"), "452 4.3.1 ", "MAIL on a full disk")
	err := h.submit("alice@example.net", "alice@example.net", []string{"bob@example.net"},
		simpleMessage("alice@example.net", "bob@example.net", "full", "x"))
	var se *gosmtp.SMTPError
	if !errors.As(err, &se) || se.Code != 452 || se.EnhancedCode != (gosmtp.EnhancedCode{4, 3, 1}) {
		t.Errorf("submission on a full disk: %v", err)
	}
	disk.low.Store(false)
	c.expect250("MAIL FROM:<a@example.org>")
	c.expect250("RCPT TO:<alice@example.net>")
	c.expect354("DATA")
	c.send("Subject: room again\r\n\r\nx\r\n.\r\n")
	c.expect("250")
	if n := h.srv.Metrics().NoStorage.Load(); n != 2 {
		t.Errorf("no_storage counter %d, want 2", n)
	}
}
