package smtp

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/miekg/dns"
	"github.com/sluicemail/sluice/stages/dkim"
	"github.com/sluicemail/sluice/stages/resolver"
)

func TestAuthRefusedOnPlaintext(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := dialConv(t, h.sub)
	ehlo := c.cmd("EHLO client.example.org")
	if strings.Contains(ehlo, "AUTH") || !strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("plaintext EHLO offers AUTH or lacks STARTTLS:\n%s", ehlo)
	}
	if r := c.cmd("AUTH PLAIN %s", plainIR("alice@example.net", "password1")); !strings.HasPrefix(r, "538 5.7.11") {
		t.Errorf("plaintext AUTH PLAIN: %q", r)
	}
	if r := c.cmd("AUTH LOGIN"); !strings.HasPrefix(r, "538 5.7.11") {
		t.Errorf("plaintext AUTH LOGIN: %q", r)
	}
	if r := c.cmd("MAIL FROM:<alice@example.net>"); !strings.HasPrefix(r, "530 5.7.0") {
		t.Errorf("MAIL without AUTH: %q", r)
	}
	// Over TLS, AUTH is offered and works.
	c.startTLS()
	if ehlo := c.cmd("EHLO client.example.org"); !strings.Contains(ehlo, "AUTH PLAIN LOGIN") {
		t.Errorf("TLS EHLO lacks AUTH:\n%s", ehlo)
	}
	c.expect235()
	// The MX listener never offers AUTH, even over TLS.
	mx := dialConv(t, h.mx)
	mx.cmd("EHLO client.example.org")
	mx.startTLS()
	if ehlo := mx.cmd("EHLO client.example.org"); strings.Contains(ehlo, "AUTH") {
		t.Errorf("MX offers AUTH:\n%s", ehlo)
	}
	if r := mx.cmd("AUTH PLAIN %s", plainIR("alice@example.net", "password1")); !strings.HasPrefix(r, "503") {
		t.Errorf("MX AUTH: %q", r)
	}
}

func TestImplicitTLSAndLogin(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c, err := gosmtp.DialTLS(h.subs, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewLoginClient("bob@example.net", "password1")); err != nil {
		t.Fatalf("AUTH LOGIN: %v", err)
	}
	msg := simpleMessage("bob@example.net", "alice@example.net", "from bob", "hi")
	if err := c.SendMail("bob@example.net", []string{"alice@example.net"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	got := h.mailbox("alice@example.net", "INBOX", 1)[0]
	if !strings.Contains(got, "with ESMTPSA id") || !strings.Contains(got, "(using TLS") {
		t.Errorf("Received lacks TLS/auth details:\n%s", got)
	}
}

func TestSenderMustBelongToUser(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	// MAIL FROM of someone else.
	err := h.submit("alice@example.net", "bob@example.net", []string{"x@example.org"}, simpleMessage("bob@example.net", "x@example.org", "s", "b"))
	if smtpCode(err) != 550 || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("foreign MAIL FROM: %v", err)
	}
	// Own MAIL FROM, foreign From header.
	err = h.submit("alice@example.net", "alice@example.net", []string{"x@example.org"}, simpleMessage("bob@example.net", "x@example.org", "s", "b"))
	if smtpCode(err) != 550 || !strings.Contains(err.Error(), "From address") {
		t.Errorf("foreign From header: %v", err)
	}
	// An alias the user receives is theirs to send as.
	if err := h.submit("alice@example.net", "team@example.net", []string{"x@example.org"}, simpleMessage("team@example.net", "x@example.org", "s", "b")); err != nil {
		t.Errorf("alias sender: %v", err)
	}
	if len(h.spy.envelopes()) != 1 {
		t.Errorf("%d queued, want 1", len(h.spy.envelopes()))
	}
	// The check can be turned off.
	h2 := newHarness(t, harnessOpts{modify: func(o *Options) { o.RequireFromMatch = false }})
	if err := h2.submit("alice@example.net", "bob@example.net", []string{"x@example.org"}, simpleMessage("bob@example.net", "x@example.org", "s", "b")); err != nil {
		t.Errorf("with require_from_match off: %v", err)
	}
}

func TestAuthFailureLimit(t *testing.T) {
	h := newHarness(t, harnessOpts{modify: func(o *Options) { o.MaxAuthFailures = 3 }})
	c := dialConv(t, h.sub)
	c.cmd("EHLO client.example.org")
	c.startTLS()
	c.cmd("EHLO client.example.org")
	for i := 0; i < 3; i++ {
		if r := c.cmd("AUTH PLAIN %s", plainIR("alice@example.net", "wrong")); !strings.HasPrefix(r, "535 5.7.8") {
			t.Fatalf("attempt %d: %q", i, r)
		}
	}
	// Now even the right password is refused from this IP.
	if r := c.cmd("AUTH PLAIN %s", plainIR("alice@example.net", "password1")); !strings.HasPrefix(r, "454 4.7.0") {
		t.Errorf("after the limit: %q", r)
	}
	if n := h.srv.Metrics().AuthFailures.Load(); n != 3 {
		t.Errorf("auth failures counted: %d", n)
	}
}

func TestConnectionsPerIP(t *testing.T) {
	h := newHarness(t, harnessOpts{modify: func(o *Options) { o.MaxConnsPerIP = 2 }})
	dialConv(t, h.mx)
	dialConv(t, h.mx)
	c := dialConvRaw(t, h.mx)
	if r := c.reply(); !strings.HasPrefix(r, "421 4.7.0") {
		t.Errorf("third connection: %q", r)
	}
}

// TestDKIMSigning: submitted mail is signed with the From domain's key,
// and the signature verifies against the published record.
func TestDKIMSigning(t *testing.T) {
	key, err := dkim.GenerateKey("ed25519")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := dkim.NewSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := signer.Add("example.net", "s1", key); err != nil {
		t.Fatal(err)
	}
	record, err := dkim.TXTRecord("example.net", "s1", key.Public())
	if err != nil {
		t.Fatal(err)
	}
	zone := resolver.NewZone()
	rr, err := dns.NewRR(record)
	if err != nil {
		t.Fatalf("record %q: %v", record, err)
	}
	zone.Add(rr)
	h := newHarness(t, harnessOpts{signer: signer, files: map[string]string{"outbound.yaml": `pipeline: outbound
rules:
  - name: unsigned
    when: header("X-No-Sign") != ""
    dkim_sign: false
`}})
	if err := h.submit("alice@example.net", "alice@example.net", []string{"friend@example.org"}, simpleMessage("alice@example.net", "friend@example.org", "signed", "body")); err != nil {
		t.Fatal(err)
	}
	raw := h.spy.raw(0)
	if !strings.HasPrefix(raw, "DKIM-Signature:") {
		t.Fatalf("not signed:\n%s", raw)
	}
	facts := dkim.Verify(context.Background(), zone, []byte(raw), 5)
	if facts.Result != "pass" {
		t.Errorf("signature does not verify: %+v", facts)
	}
	env := h.spy.envelopes()[0]
	if env.AuthUser != "alice@example.net" || env.Rcpt[0].Local || env.Rcpt[0].Addr != "friend@example.org" {
		t.Errorf("envelope %+v", env)
	}
	// A rule can turn signing off.
	msg := "X-No-Sign: 1\r\n" + simpleMessage("alice@example.net", "friend@example.org", "unsigned", "body")
	if err := h.submit("alice@example.net", "alice@example.net", []string{"friend@example.org"}, msg); err != nil {
		t.Fatal(err)
	}
	if raw := h.spy.raw(1); strings.Contains(raw, "DKIM-Signature:") {
		t.Errorf("signed despite dkim_sign: false")
	}
}
