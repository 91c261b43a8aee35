package smtp

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

type smugglingFixture struct {
	Valid struct {
		Bytes string `yaml:"bytes"`
	} `yaml:"valid_terminator"`
	Sequences []struct {
		ID    string `yaml:"id"`
		Bytes string `yaml:"bytes"`
		Hex   string `yaml:"hex"`
	} `yaml:"sequences"`
}

// TestSmuggling sends, inside DATA, every malformed end-of-data sequence
// followed by a second transaction to a local user (bob). Whatever the
// server answers, exactly one reply comes for the DATA, at most one message
// is queued (for alice), and bob never gets the smuggled one.
func TestSmuggling(t *testing.T) {
	data, err := os.ReadFile("testdata/smuggling-eod-sequences.yml")
	if err != nil {
		t.Fatal(err)
	}
	var fx smugglingFixture
	if err := yaml.Unmarshal(data, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Sequences) != 12 || fx.Valid.Bytes != "\r\n.\r\n" {
		t.Fatalf("fixture: %d sequences, terminator %q", len(fx.Sequences), fx.Valid.Bytes)
	}
	h := newHarness(t, harnessOpts{})
	accepted := 0
	for _, seq := range fx.Sequences {
		t.Run(seq.ID, func(t *testing.T) {
			c := dialConv(t, h.mx)
			c.expect250("EHLO client.example.org")
			c.expect250("MAIL FROM:<a@example.org>")
			c.expect250("RCPT TO:<alice@example.net>")
			c.expect354("DATA")
			c.send("Subject: smuggle " + seq.ID + "\r\n\r\nbody" + seq.Bytes +
				"MAIL FROM:<smuggled@example.net>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n\r\nsmuggled\r\n.\r\n")
			r := c.reply()
			switch {
			case strings.HasPrefix(r, "250"):
				accepted++
			case strings.HasPrefix(r, "554 5.6.0"):
			default:
				t.Fatalf("reply %q", r)
			}
			// Had the sequence ended the message, the smuggled MAIL, RCPT and
			// DATA would have produced more replies before this NOOP's.
			if r := c.cmd("NOOP"); !strings.HasPrefix(r, "250") || strings.Count(r, "\n") != 1 {
				t.Fatalf("after the data: %q", r)
			}
		})
	}
	h.idle()
	if n := len(h.spy.envelopes()); n != accepted {
		t.Errorf("%d queued, %d accepted", n, accepted)
	}
	for _, env := range h.spy.envelopes() {
		if env.From != "a@example.org" || len(env.Rcpt) != 1 || env.Rcpt[0].User != "alice@example.net" {
			t.Errorf("queued %+v", env)
		}
	}
	if got := h.messages("bob@example.net", "INBOX"); len(got) != 0 {
		t.Errorf("bob received a smuggled message: %q", got)
	}
	// Accepted messages (bare LF is normalised) are stored with CRLF only.
	for _, m := range h.messages("alice@example.net", "INBOX") {
		if strings.Contains(strings.ReplaceAll(m, "\r\n", ""), "\n") || strings.Contains(strings.ReplaceAll(m, "\r\n", ""), "\r") {
			t.Errorf("stored message has a bare CR or LF: %q", m)
		}
	}
	t.Logf("%d of %d sequences accepted as one normalised message, the rest refused", accepted, len(fx.Sequences))
}

// TestBadInput: each bad DATA gets a clear reply, nothing partial is
// queued, and the server keeps serving.
func TestBadInput(t *testing.T) {
	h := newHarness(t, harnessOpts{modify: func(o *Options) {
		o.MaxMessageBytes = 4 << 20
		o.MaxHeaderBytes = 256 << 10
	}})
	start := func() *conv {
		c := dialConv(t, h.mx)
		c.expect250("EHLO client.example.org")
		c.expect250("MAIL FROM:<a@example.org>")
		c.expect250("RCPT TO:<alice@example.net>")
		c.expect354("DATA")
		return c
	}
	filler := "X-Filler: " + strings.Repeat("a", 990) + "\r\n"
	cases := []struct {
		name, data, want string
	}{
		{"nul byte", "Subject: nul\r\n\r\nbad \x00 byte\r\n.\r\n", "554 5.6.0"},
		{"bare CR", "Subject: cr\r\n\r\nline one\rline two\r\n.\r\n", "554 5.6.0"},
		{"over-long line", "Subject: long\r\n\r\n" + strings.Repeat("x", 5000) + "\r\n.\r\n", "500 5.5.2"},
		{"1 MB header", "Subject: big header\r\n" + strings.Repeat(filler, 1024) + "\r\nbody\r\n.\r\n", "552 5.3.4"},
		{"over the size limit", "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("y", 998)+"\r\n", 5000) + ".\r\n", "552 5.3.4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := start()
			c.send(tc.data)
			if r := c.reply(); !strings.HasPrefix(r, tc.want) {
				t.Errorf("reply %q, want %s", r, tc.want)
			}
		})
	}
	t.Run("disconnect mid-DATA", func(t *testing.T) {
		c := start()
		c.send("Subject: cut\r\n\r\nhalf a message")
		c.conn.Close()
	})
	t.Run("SIZE over the limit", func(t *testing.T) {
		c := dialConv(t, h.mx)
		c.expect250("EHLO client.example.org")
		if r := c.cmd("MAIL FROM:<a@example.org> SIZE=99999999"); !strings.HasPrefix(r, "552") {
			t.Errorf("reply %q", r)
		}
	})
	// The server is still up and takes good mail; nothing bad was queued.
	time.Sleep(100 * time.Millisecond) // let the disconnect be noticed
	if err := h.send("a@example.org", []string{"alice@example.net"}, simpleMessage("a@example.org", "alice@example.net", "fine", "ok")); err != nil {
		t.Fatal(err)
	}
	got := h.mailbox("alice@example.net", "INBOX", 1)
	if !strings.Contains(got[0], "Subject: fine") {
		t.Errorf("unexpected message %q", got[0][:200])
	}
	if n := len(h.spy.envelopes()); n != 1 {
		t.Errorf("%d messages queued, want 1", n)
	}
}
