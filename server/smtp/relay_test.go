package smtp

import (
	"os"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

type relayForms struct {
	MailFrom []string `yaml:"mail_from_variants"`
	Forms    []struct {
		ID     string `yaml:"id"`
		Rcpt   string `yaml:"rcpt"`
		Expect string `yaml:"expect"`
		Note   string `yaml:"note"`
	} `yaml:"rcpt_forms"`
}

var relayPlaceholders = strings.NewReplacer(
	"{relay_ip}", "127.0.0.1", "{relay}", "mx.example.net", "{local}", "example.net",
	"{external}", "example.org", "{user}", "relaytest")

// Our decisions where the fixture leaves a choice (see expectRelay).
var relayDecisions = map[string]string{
	// Address literals are refused outright, even our own (RFC 5321 4.1.3
	// allows it; it is a relay probe far more often than real mail).
	"own-address-literal": "reject",
}

// TestOpenRelay sends every RCPT form of relay-address-forms.yml (kept in
// server/doctor, whose open-relay check sends them too), with
// every MAIL FROM variant, to the MX listener without authentication:
// nothing may be relayed; the forms that name a local mailbox deliver
// there and only there.
func TestOpenRelay(t *testing.T) {
	data, err := os.ReadFile("../doctor/relay-address-forms.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rf relayForms
	if err := yaml.Unmarshal(data, &rf); err != nil {
		t.Fatal(err)
	}
	if len(rf.Forms) != 28 || len(rf.MailFrom) != 5 {
		t.Fatalf("fixture: %d forms, %d senders", len(rf.Forms), len(rf.MailFrom))
	}
	h := newHarness(t, harnessOpts{})
	c := dialConv(t, h.mx)
	c.expect250("EHLO client.example.org")
	accepted := 0
	for _, form := range rf.Forms {
		expect := form.Expect
		if d, ok := relayDecisions[form.ID]; ok {
			expect = d
		}
		for _, from := range rf.MailFrom {
			c.cmd("RSET")
			if r := c.cmd("MAIL FROM:%s", relayPlaceholders.Replace(from)); !strings.HasPrefix(r, "250") {
				t.Fatalf("MAIL FROM:%s: %q", from, r)
			}
			rcpt := relayPlaceholders.Replace(form.Rcpt)
			r := c.cmd("RCPT TO:%s", rcpt)
			switch expect {
			case "accept":
				if !strings.HasPrefix(r, "250") {
					t.Errorf("%s: RCPT TO:%s = %q, want 250", form.ID, rcpt, r)
					continue
				}
				c.expect354("DATA")
				c.send("Subject: relay test " + form.ID + "\r\n\r\nx\r\n.\r\n")
				c.expect("250")
				accepted++
			default: // reject, local_only: refused, permanently
				if !strings.HasPrefix(r, "5") {
					t.Errorf("%s (%s): RCPT TO:%s = %q, want 5xx", form.ID, form.Expect, rcpt, r)
				}
			}
		}
	}
	c.cmd("QUIT")
	h.idle()
	envs := h.spy.envelopes()
	if len(envs) != accepted || accepted != 15 {
		t.Errorf("%d messages queued, %d accepted; want 15 (3 accept forms x 5 senders)", len(envs), accepted)
	}
	for _, env := range envs {
		for _, r := range env.Rcpt {
			if !r.Local || (r.User != "relaytest@example.net" && r.User != "alice@example.net") {
				t.Errorf("queued recipient %+v", r)
			}
		}
	}
	if n := h.srv.Metrics().RelayDenied.Load(); n == 0 {
		t.Error("relay_denied counter not counted")
	}
}

// expect354 sends cmd and expects the DATA go-ahead.
func (c *conv) expect354(cmd string) {
	c.t.Helper()
	if r := c.cmd("%s", cmd); !strings.HasPrefix(r, "354") {
		c.t.Fatalf("%s: %q", cmd, r)
	}
}

// Authentication lets a user relay, and only to well-formed remote
// addresses: the routing tricks stay refused.
func TestAuthenticatedRelayForms(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := dialConv(t, h.sub)
	c.cmd("EHLO client.example.org")
	c.startTLS()
	c.cmd("EHLO client.example.org")
	c.expect235()
	c.expect250("MAIL FROM:<alice@example.net>")
	for rcpt, want := range map[string]string{
		"<friend@example.org>":                 "250",
		"<friend@EXAMPLE.ORG.>":                "250",
		"<friend%example.com@example.org>":     "550",
		"<example.com!friend@example.org>":     "550",
		"<friend@[198.51.100.7]>":              "550",
		"<\"friend@example.com\"@example.org>": "550",
		"<friend@localhost>":                   "550",
	} {
		if r := c.cmd("RCPT TO:%s", rcpt); !strings.HasPrefix(r, want) {
			t.Errorf("RCPT TO:%s = %q, want %s", rcpt, r, want)
		}
	}
}
