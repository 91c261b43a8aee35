package smtp

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

// protocolDecisions is our answer to every case of
// protocol-edge-cases.yml, where the fixture leaves a choice or go-smtp
// answers differently from the RFC's suggestion. Each case is run below;
// TestProtocolEdgeCasesCovered checks none is missing.
var protocolDecisions = map[string]string{
	"mail-before-ehlo":                      "5xx (go-smtp: 502 5.5.1)",
	"rcpt-before-mail":                      "5xx (go-smtp: 502 5.5.1)",
	"data-before-rcpt":                      "5xx (go-smtp: 502 5.5.1)",
	"second-mail-in-transaction":            "503 5.5.1",
	"rset-clears-transaction":               "250 then 5xx",
	"commands-case-insensitive":             "250",
	"early-talker":                          "554 and drop, with limits.greet_delay set",
	"unauth-pipelining":                     "PIPELINING is offered, so pipelined commands are answered in order",
	"starttls-command-injection":            "plaintext after STARTTLS is discarded",
	"ehlo-after-starttls-required":          "5xx",
	"null-reverse-path":                     "250",
	"space-after-colon":                     "250 (accepted, as Postfix does)",
	"no-angle-brackets":                     "250 (accepted)",
	"postmaster-without-domain":             "250, to postmaster@<first domain> (go-smtp v0.26.0)",
	"postmaster-without-domain-any-case":    "250",
	"source-route-ignored":                  "250, delivered to the final address",
	"ipv6-address-literal":                  "550 5.7.1: address literals are refused",
	"quoted-local-part":                     "parsed; 5xx here because no such user exists",
	"local-part-65-octets":                  "553 5.1.3; 64 octets pass the syntax check",
	"unknown-esmtp-parameter":               "555 5.5.4 (our go-smtp fork, server/internal/gosmtp)",
	"unknown-rcpt-parameter":                "555 5.5.4 (same fork)",
	"size-too-big":                          "5xx (go-smtp: 501 for a SIZE over 32 bits, 552 below)",
	"smtputf8-local-part-without-extension": "553 5.6.7, then 250 with SMTPUTF8",
	"smtputf8-u-label-local-domain":         "250",
	"requiretls-before-starttls":            "530 5.7.10; listed and 250 after STARTTLS",
	"command-line-too-long":                 "512 octets accepted; past limits.line_length 500",
	"nul-in-command":                        "501 (a repeated EHLO: 501 at MAIL)",
	"bare-lf-command-terminator":            "accepted: DATA still ends only at CRLF.CRLF",
	"data-line-too-long":                    "1200 octets accepted unchanged (limit 4096)",
	"dot-stuffed-line":                      "stored as .hidden",
	"lone-dot-stuffed":                      "stored as . and the message continues",
	"bare-cr-in-data":                       "554 5.6.0",
	"bdat-after-data-mixing":                "5xx: the failed DATA ended the transaction",
	"bdat-zero-last":                        "250",
}

func TestProtocolEdgeCasesCovered(t *testing.T) {
	data, err := os.ReadFile("testdata/protocol-edge-cases.yml")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Cases []struct {
			ID string `yaml:"id"`
		} `yaml:"cases"`
	}
	if err := yaml.Unmarshal(data, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Cases) != len(protocolDecisions) {
		t.Errorf("fixture has %d cases, %d decided", len(fx.Cases), len(protocolDecisions))
	}
	for _, c := range fx.Cases {
		if _, ok := protocolDecisions[c.ID]; !ok {
			t.Errorf("case %s has no decision", c.ID)
		}
	}
}

func want(t *testing.T, got, prefix, what string) {
	t.Helper()
	if !strings.HasPrefix(got, prefix) {
		t.Errorf("%s: got %q, want %s", what, got, prefix)
	}
}

func TestProtocolEdgeCases(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	t.Run("extensions", func(t *testing.T) {
		c := dialConv(t, h.mx)
		r := c.cmd("EHLO client.example.org")
		for _, ext := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE 1048576", "ENHANCEDSTATUSCODES", "CHUNKING", "STARTTLS"} {
			if !strings.Contains(r, "250-"+ext+"\r\n") && !strings.Contains(r, "250 "+ext+"\r\n") {
				t.Errorf("EHLO lacks %s:\n%s", ext, r)
			}
		}
	})
	ehlo := func() *conv {
		c := dialConv(t, h.mx)
		c.expect250("EHLO client.example.org")
		return c
	}
	t.Run("sequencing", func(t *testing.T) {
		c := dialConv(t, h.mx)
		want(t, c.cmd("MAIL FROM:<a@example.org>"), "5", "mail-before-ehlo")
		c.expect250("EHLO client.example.org")
		want(t, c.cmd("RCPT TO:<alice@example.net>"), "5", "rcpt-before-mail")
		c.expect250("mail from:<a@example.org>") // commands-case-insensitive
		want(t, c.cmd("DATA"), "5", "data-before-rcpt")
		want(t, c.cmd("MAIL FROM:<b@example.org>"), "503 5.5.1", "second-mail-in-transaction")
		c.expect250("RCPT TO:<alice@example.net>")
		c.expect250("RSET")
		want(t, c.cmd("RCPT TO:<alice@example.net>"), "5", "rset-clears-transaction")
	})
	t.Run("unauth-pipelining", func(t *testing.T) {
		c := dialConv(t, h.mx)
		c.send("EHLO c.example.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.net>\r\nDATA\r\n")
		for _, code := range []string{"250", "250", "250", "354"} {
			c.expect(code)
		}
		c.send("Subject: pipelined\r\n\r\nx\r\n.\r\n")
		c.expect("250")
	})
	t.Run("starttls-command-injection", func(t *testing.T) {
		c := ehlo()
		c.send("STARTTLS\r\nRSET\r\n")
		c.expect("220")
		c.startTLSHandshake()
		// The RSET sent in plaintext must not be answered after TLS; the
		// first reply we get is to this EHLO-less MAIL: refused, because
		// STARTTLS reset the session (ehlo-after-starttls-required).
		want(t, c.cmd("MAIL FROM:<a@example.org>"), "5", "ehlo-after-starttls-required")
		c.expect250("EHLO client.example.org")
	})
	t.Run("paths", func(t *testing.T) {
		c := ehlo()
		c.expect250("MAIL FROM:<>")
		c.expect250("RSET")
		c.expect250("MAIL FROM: <a@example.org>")
		c.expect250("RSET")
		c.expect250("MAIL FROM:a@example.org")
		c.expect250("RCPT TO:<Postmaster>") // postmaster-without-domain
		c.expect250("RCPT TO:<pOsTmAsTeR>") // postmaster-without-domain-any-case
		want(t, c.cmd("RCPT TO:<Postmaster> FOO=BAR"), "555 5.5.4", "unknown-rcpt-parameter")
		c.expect250("RCPT TO:<postmaster@example.net>")
		c.expect250("RCPT TO:<@relay.example.org:alice@example.net>")
		want(t, c.cmd("RCPT TO:<postmaster@[IPv6:2001:db8::25]>"), "550 5.7.1", "ipv6-address-literal")
		want(t, c.cmd(`RCPT TO:<"john smith"@example.net>`), "55", "quoted-local-part")
		want(t, c.cmd("RCPT TO:<%s@example.net>", strings.Repeat("a", 65)), "553 5.1.3", "local-part-65-octets")
		want(t, c.cmd("RCPT TO:<%s@example.net>", strings.Repeat("a", 64)), "550 5.1.1", "local-part-64-octets")
		c.expect250("RSET")
		want(t, c.cmd("MAIL FROM:<a@example.org> FOO=BAR"), "555 5.5.4", "unknown-esmtp-parameter")
		want(t, c.cmd("MAIL FROM:<a@example.org> SIZE=999999999999"), "5", "size-too-big")
		want(t, c.cmd("MAIL FROM:<a@example.org> SIZE=99999999"), "552", "size-too-big (32 bits)")
		want(t, c.cmd("MAIL FROM:<jörg@example.org>"), "553 5.6.7", "smtputf8 without the parameter")
		ehloReply := c.cmd("EHLO client.example.org")
		if !strings.Contains(ehloReply, "SMTPUTF8") {
			t.Errorf("SMTPUTF8 not advertised: %q", ehloReply)
		}
		c.expect250("MAIL FROM:<jörg@example.org> SMTPUTF8")
		c.expect250("RCPT TO:<alice@example.net>")
		c.expect250("RCPT TO:<postmaster@bücher.example.net>") // smtputf8-u-label-local-domain
		c.expect354("DATA")
		c.send("Subject: utf8\r\n\r\nx\r\n.\r\n")
		c.expect("250")
	})
	t.Run("requiretls-before-starttls", func(t *testing.T) {
		c := dialConv(t, h.mx)
		if r := c.cmd("EHLO client.example.org"); strings.Contains(r, "REQUIRETLS") {
			t.Errorf("REQUIRETLS advertised in plain text:\n%s", r)
		}
		want(t, c.cmd("MAIL FROM:<a@example.org> REQUIRETLS"), "530 5.7.10", "requiretls-before-starttls")
		c.startTLS()
		if r := c.cmd("EHLO client.example.org"); !strings.Contains(r, "REQUIRETLS") {
			t.Errorf("REQUIRETLS not advertised after STARTTLS:\n%s", r)
		}
		c.expect250("MAIL FROM:<a@example.org> REQUIRETLS")
	})
	t.Run("lines", func(t *testing.T) {
		c := ehlo()
		c.expect250("NOOP " + strings.Repeat("a", 512-7)) // a 512-octet line with CRLF
		nul := dialConv(t, h.mx)
		want(t, nul.cmd("EHLO a\x00b.example.org"), "501", "nul-in-command")
		// A second EHLO with a NUL cannot be refused by go-smtp's session
		// hook; the transaction it would start is.
		c.expect250("EHLO a\x00b.example.org")
		want(t, c.cmd("MAIL FROM:<a@example.org>"), "501", "MAIL after an EHLO with a NUL")
		c.send("EHLO client.example.org\n") // bare-lf-command-terminator
		c.expect("250")
		c.expect250("MAIL FROM:<a@example.org>")
		c.expect250("RCPT TO:<alice@example.net>")
		c.expect354("DATA")
		long := strings.Repeat("L", 1198)
		c.send("Subject: lines\r\n\r\n" + long + "\r\n..hidden\r\n..\r\nafter the dot\r\n.\r\n")
		c.expect("250")
		got := h.mailbox("alice@example.net", "INBOX", 3)
		var m string
		for _, g := range got {
			if strings.Contains(g, "Subject: lines") {
				m = g
			}
		}
		if !strings.Contains(m, "\r\n"+long+"\r\n.hidden\r\n.\r\nafter the dot\r\n") {
			t.Errorf("dot-stuffing or long line mangled:\n%q", m)
		}
		// A line past the limit closes the session with a clear reply.
		want(t, c.cmd("NOOP %s", strings.Repeat("a", 5000)), "500", "command-line-too-long")
	})
	t.Run("bdat", func(t *testing.T) {
		c := ehlo()
		c.expect250("MAIL FROM:<a@example.org>")
		c.expect250("RCPT TO:<bob@example.net>")
		c.expect354("DATA")
		c.send("Subject: nul\r\n\r\n\x00\r\n.\r\n")
		c.expect("554")
		c.send("BDAT 10\r\n0123456789")
		want(t, c.reply(), "5", "bdat-after-data-mixing")
		c.expect250("MAIL FROM:<a@example.org>")
		c.expect250("RCPT TO:<bob@example.net>")
		chunk := "Subject: chunked\r\n\r\nhello\r\n"
		c.send("BDAT " + itoa(len(chunk)) + "\r\n" + chunk)
		c.expect("250")
		c.send("BDAT 0 LAST\r\n")
		c.expect("250")
		got := h.mailbox("bob@example.net", "INBOX", 1)[0]
		if !strings.Contains(got, "Subject: chunked") {
			t.Errorf("BDAT message: %q", got)
		}
	})
}

func TestEarlyTalker(t *testing.T) {
	h := newHarness(t, harnessOpts{modify: func(o *Options) { o.GreetDelay = 300 * time.Millisecond }})
	c := dialConvRaw(t, h.mx)
	c.send("EHLO client.example.org\r\n")
	want(t, c.reply(), "554 5.5.1", "early-talker")
	if r := c.reply(); !strings.Contains(r, "EOF") && !strings.Contains(r, "reset") {
		t.Errorf("connection not closed: %q", r)
	}
	// A patient client is served.
	p := dialConv(t, h.mx)
	p.expect250("EHLO client.example.org")
	if n := h.srv.Metrics().Pregreet.Load(); n != 1 {
		t.Errorf("pregreet counter %d", n)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
