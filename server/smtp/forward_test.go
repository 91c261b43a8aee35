package smtp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/forward"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/relay"
	"github.com/sluicemail/sluice/server/relay/relaytest"
	"github.com/sluicemail/sluice/server/srs"
	"github.com/sluicemail/sluice/stages/arc"
	"github.com/sluicemail/sluice/stages/resolver"
)

// Forwarding through the real server: a sink on loopback stands for the
// outside world (every remote domain's MX points at it), the forwarder
// rewrites with SRS and seals with ARC, and bounces come back through
// the MX listener.

const forwardRules = `pipeline: inbound
rules:
  - name: forward-me
    when: msg.subject contains "FORWARD"
    action: redirect fwd@dest.test
`

type forwardRig struct {
	*harness
	sink *relaytest.Server
	srs  *srs.Rewriter
	zone *resolver.Zone
}

func newForwardRig(t *testing.T) *forwardRig {
	t.Helper()
	sink := relaytest.Start(t, relaytest.Options{})
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	rec := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	z, err := resolver.ParseZone(`
dest.test.    300 IN MX 10 mx.outside.test.
sender.example. 300 IN MX 10 mx.outside.test.
mx.outside.test. 300 IN A 127.0.0.1
`)
	if err != nil {
		t.Fatal(err)
	}
	z.Add(resolver.NewTXT("arc._domainkey.example.net", 300, rec[:200], rec[200:]))
	rw, err := srs.New("example.net", []string{"test secret"}, srs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := relay.New(relay.Options{Resolver: z, Hostname: "mx.example.net", Port: sink.Port})
	if err != nil {
		t.Fatal(err)
	}
	fw := &forward.Forwarder{SRS: rw, DNS: z, IsLocal: func(d string) bool { return d == "example.net" },
		Sealer: &arc.Sealer{Domain: "example.net", Selector: "arc", Key: key, AuthServID: "mx.example.net"}}
	var h *harness
	h = newHarness(t, harnessOpts{rules: forwardRules, dns: z,
		modify: func(o *Options) { o.Forward = fw },
		queue: func(o *queue.Options) {
			o.Relay = rc
			o.Retry = []time.Duration{time.Hour}
			o.Route = func(addr string) ([]queue.Recipient, bool) { // as serve wires it
				return Router{Domains: []string{"example.net"}, Accounts: h.accounts, SRS: rw}.Route(addr)
			}
		},
		files: map[string]string{}})
	if err := h.accounts.SetAlias("out@example.net", []string{"carol@dest.test"}); err != nil {
		t.Fatal(err)
	}
	if err := h.accounts.SetAlias("both@example.net", []string{"bob@example.net", "carol@dest.test"}); err != nil {
		t.Fatal(err)
	}
	return &forwardRig{harness: h, sink: sink, srs: rw, zone: z}
}

// received waits for the sink to hold n messages.
func (r *forwardRig) received(t *testing.T, n int) []*relaytest.Message {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		msgs := r.sink.Messages()
		if len(msgs) >= n || time.Now().After(deadline) {
			if len(msgs) != n {
				t.Fatalf("sink has %d messages, want %d", len(msgs), n)
			}
			return msgs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSRSRoundTrip: an alias forwards out with an SRS sender and an ARC
// seal; the bounce to the SRS address comes back through the MX with the
// null sender and goes on to the original sender; forged SRS addresses
// and non-bounces to SRS addresses are refused at RCPT.
func TestSRSRoundTrip(t *testing.T) {
	r := newForwardRig(t)
	if err := r.send("alice@sender.example", []string{"out@example.net"}, simpleMessage("alice@sender.example", "out@example.net", "hello", "forward me")); err != nil {
		t.Fatal(err)
	}
	fwd := r.received(t, 1)[0]
	if !strings.HasPrefix(fwd.From, "SRS0=") || !strings.HasSuffix(fwd.From, "=sender.example=alice@example.net") || strings.Join(fwd.To, ",") != "carol@dest.test" {
		t.Fatalf("forwarded as MAIL FROM:<%s> to %v", fwd.From, fwd.To)
	}
	if back, err := r.srs.Reverse(fwd.From); err != nil || back != "alice@sender.example" {
		t.Fatalf("the SRS sender reverses to %q, %v", back, err)
	}
	res := arc.Verify(context.Background(), r.zone, fwd.Data)
	if res.Chain != arc.ChainPass || strings.Join(res.Sealers, ",") != "example.net" || !strings.HasPrefix(res.Results[0], "mx.example.net;") {
		t.Errorf("ARC of the forward: %+v\n%s", res, fwd.Data)
	}

	// The next hop bounces it: the DSN comes to the SRS address.
	c := dialConv(t, r.mx)
	c.expect250("EHLO mx.dest.test")
	c.expect250("MAIL FROM:<>")
	c.expect250("RCPT TO:<" + fwd.From + ">")
	c.expect354("DATA")
	c.send("From: MAILER-DAEMON@dest.test\r\nTo: <" + fwd.From + ">\r\nSubject: Undelivered Mail\r\n\r\nno such user carol\r\n.\r\n")
	c.expect("250")
	bounce := r.received(t, 2)[1]
	if bounce.From != "" || strings.Join(bounce.To, ",") != "alice@sender.example" || !strings.Contains(string(bounce.Data), "no such user carol") {
		t.Errorf("bounce went out as MAIL FROM:<%s> to %v", bounce.From, bounce.To)
	}

	// Refused: a forged hash, an expired stamp, a sender that is not null.
	forged := strings.Replace(fwd.From, "SRS0=", "SRS0=AAAA", 1)
	forged = "SRS0=AAAA" + forged[strings.Index(forged[5:], "=")+5:]
	c.cmd("RSET")
	c.expect250("MAIL FROM:<>")
	if reply := c.cmd("RCPT TO:<%s>", forged); !strings.HasPrefix(reply, "550 5.1.1") {
		t.Errorf("forged SRS address %s: %q", forged, reply)
	}
	old, _ := srs.New("example.net", []string{"test secret"}, srs.Options{Now: func() time.Time { return time.Now().Add(-30 * 24 * time.Hour) }})
	expired, _ := old.Forward("alice@sender.example")
	if reply := c.cmd("RCPT TO:<%s>", expired); !strings.HasPrefix(reply, "550 5.1.1") {
		t.Errorf("expired SRS address: %q", reply)
	}
	c.cmd("RSET")
	c.expect250("MAIL FROM:<spammer@sender.example>")
	if reply := c.cmd("RCPT TO:<%s>", fwd.From); !strings.HasPrefix(reply, "550 5.7.1") {
		t.Errorf("non-null sender to an SRS address: %q", reply)
	}
}

// TestForwardSplitsLocalAndRemote: an alias with a local and a remote
// member delivers locally as sent and forwards the rest; a redirect rule
// forwards the same way; a local sender is not rewritten.
func TestForwardSplitsLocalAndRemote(t *testing.T) {
	r := newForwardRig(t)
	if err := r.send("alice@sender.example", []string{"both@example.net"}, simpleMessage("alice@sender.example", "both@example.net", "hi", "both")); err != nil {
		t.Fatal(err)
	}
	local := r.mailbox("bob@example.net", "INBOX", 1)[0]
	if strings.Contains(local, "ARC-Seal") || !strings.Contains(local, "Authentication-Results: mx.example.net") {
		t.Errorf("the local copy:\n%s", local)
	}
	got := r.received(t, 1)[0]
	if !strings.HasPrefix(got.From, "SRS0=") || !strings.Contains(string(got.Data), "ARC-Seal:") {
		t.Errorf("the forward: %s", got.From)
	}
	if err := r.send("alice@sender.example", []string{"bob@example.net"}, simpleMessage("alice@sender.example", "bob@example.net", "FORWARD this", "x")); err != nil {
		t.Fatal(err)
	}
	red := r.received(t, 2)[1]
	if !strings.HasPrefix(red.From, "SRS0=") || strings.Join(red.To, ",") != "fwd@dest.test" {
		t.Errorf("redirect went out as <%s> to %v", red.From, red.To)
	}
	// The null sender stays null when a bounce is forwarded on.
	if err := r.send("", []string{"out@example.net"}, simpleMessage("mailer-daemon@sender.example", "out@example.net", "bounce", "x")); err != nil {
		t.Fatal(err)
	}
	if nb := r.received(t, 3)[2]; nb.From != "" {
		t.Errorf("a forwarded bounce got sender <%s>", nb.From)
	}
}

// TestForwardDSNReachesOriginalSender: the next hop refuses the forward
// for good; our own DSN goes to the SRS sender, which the router reverses,
// so the original sender gets it.
func TestForwardDSNReachesOriginalSender(t *testing.T) {
	r := newForwardRig(t)
	r.sink.Rcpt = func(to string) error {
		if to == "carol@dest.test" {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}
	if err := r.send("alice@sender.example", []string{"out@example.net"}, simpleMessage("alice@sender.example", "out@example.net", "doomed", "x")); err != nil {
		t.Fatal(err)
	}
	dsn := r.received(t, 1)[0]
	if dsn.From != "" || strings.Join(dsn.To, ",") != "alice@sender.example" || !strings.Contains(string(dsn.Data), "carol@dest.test") {
		t.Errorf("DSN as <%s> to %v:\n%s", dsn.From, dsn.To, dsn.Data)
	}
}
