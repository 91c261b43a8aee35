package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/relay/relaytest"
	"github.com/sluicemail/sluice/server/smtp"
	"github.com/sluicemail/sluice/stages/dkim"
	"github.com/sluicemail/sluice/stages/resolver"
	"golang.org/x/crypto/bcrypt"
)

// e2e is a whole sluice server started from a config file, as `sluice
// serve --config` starts it, with a second SMTP server (relaytest) that
// the zone file names as the MX of remote.example.
type e2e struct {
	t      *testing.T
	dir    string
	in     *instance
	remote *relaytest.Server
	zone   *resolver.Zone
	logs   *lockedBuffer
	flaky  atomic.Int32 // RCPT attempts for flaky@remote.example
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const e2eInbound = `pipeline: inbound
# A long line without a space, as a URL or a regular expression makes (the console shows this file): https://example.org/` + "a-very-long-path-segment-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789" + `
stages:
  dnsbl:
    query_local: true
    zones:
      - {zone: bl.example}
rules:
  - name: dnsbl-listed
    when: dnsbl.listed and envelope.mail_from endsWith "@listed.example"
    action: reject 554 5.7.1 "Client {{ conn.ip }} is listed at {{ dnsbl.hits[0].zone }}"
  - name: spf-fail
    when: spf.result == "fail"
    score: 3
  - name: buy-now
    when: msg.subject contains "BUY NOW"
    action: reject 554 5.7.1 "Spam content refused"
  - name: spammy
    when: msg.subject contains "viagra"
    action: junk
    headers: {X-Spam-Flag: "YES"}
  - name: hold
    when: msg.subject contains "HOLD"
    action: quarantine
`

const e2eOutbound = `pipeline: outbound
rules:
  - name: not-authenticated
    when: not auth.authenticated
    action: reject 530 5.7.0 "Authentication required"
`

func newE2E(t *testing.T, inbound string) *e2e {
	t.Helper()
	return newE2EWith(t, inbound, "", "")
}

// newE2EWith adds config lines and zone records to the e2e server's.
func newE2EWith(t *testing.T, inbound, moreConfig, moreZone string) *e2e {
	t.Helper()
	auth.HashCost = bcrypt.MinCost
	e := &e2e{t: t, dir: t.TempDir(), logs: &lockedBuffer{}}
	e.remote = relaytest.Start(t, relaytest.Options{TLS: true})
	e.remote.Rcpt = func(to string) error {
		switch to {
		case "bounce@remote.example":
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case "flaky@remote.example":
			if e.flaky.Add(1) == 1 {
				return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try again"}
			}
		}
		return nil
	}
	key, err := dkim.GenerateKey("ed25519")
	if err != nil {
		t.Fatal(err)
	}
	pemKey, _ := dkim.MarshalKey(key)
	record, err := dkim.TXTRecord("example.net", "s1", key.Public())
	if err != nil {
		t.Fatal(err)
	}
	zone := "$ORIGIN .\n$TTL 300\n" +
		"remote.example. MX 10 mx.remote.example.\n" +
		"mx.remote.example. A 127.0.0.1\n" +
		"1.0.0.127.bl.example. A 127.0.0.2\n" +
		"bad-url.example.dbl.example. A 127.0.1.2\n" +
		record + "\n" + moreZone
	if e.zone, err = resolver.ParseZone(zone); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		p := filepath.Join(e.dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("test.zone", zone)
	write("dkim.pem", string(pemKey))
	write("rules/inbound.yaml", inbound)
	write("rules/outbound.yaml", e2eOutbound)
	write("sluice.yaml", fmt.Sprintf(`hostname: mx.example.net
domains: [example.net]
data: data
listen: {smtp: "127.0.0.1:0", submission: "127.0.0.1:0", submissions: "127.0.0.1:0", imaps: "127.0.0.1:0", admin: "127.0.0.1:0"}
rules: rules
dns: {zonefile: test.zone}
relay: {port: %d}
queue: {retry: [1s], expire: 1h}
dkim: {keys: [{domain: example.net, selector: s1, key: dkim.pem}]}
log: {level: debug}
%s`, e.remote.Port, moreConfig))
	cfg, err := config.Load(filepath.Join(e.dir, "sluice.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := auth.Open(cfg.Data)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice@example.net", "bob@example.net"} {
		if err := accounts.AddUser(u, "password1"); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if e.in, err = start(cfg, log); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.in.stop(5 * time.Second)
		if t.Failed() {
			t.Logf("server log:\n%s", e.logs.String())
		}
	})
	return e
}

func (e *e2e) addr(kind string) string { return e.in.smtp.Addr(kind).String() }

// bound returns the address the banner lists for a listener kind.
func (e *e2e) bound(kind string) string {
	for _, a := range e.in.addrs {
		if f := strings.Fields(a); len(f) >= 2 && f[0] == kind {
			return strings.TrimSuffix(strings.TrimPrefix(f[1], "http://"), "/")
		}
	}
	e.t.Fatalf("no %s listener in %v", kind, e.in.addrs)
	return ""
}

// mailbox waits for user's mailbox to hold n messages (the wait is for the
// delivery workers) and returns them.
func (e *e2e) mailbox(user, mailbox string, n int) []string {
	e.t.Helper()
	dir, err := e.in.store.MailboxDir(user, mailbox)
	if err != nil {
		e.t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var msgs []string
		// The store moves files from new/ to cur/ in the background: a
		// file read in new/ may be listed again in cur/, so count each
		// Maildir base name (before ":2,") once.
		seen := map[string]bool{}
		for _, sub := range []string{"new", "cur"} {
			ents, _ := os.ReadDir(filepath.Join(dir, sub))
			for _, ent := range ents {
				base, _, _ := strings.Cut(ent.Name(), ":")
				if seen[base] {
					continue
				}
				if b, err := os.ReadFile(filepath.Join(dir, sub, ent.Name())); err == nil {
					seen[base] = true
					msgs = append(msgs, string(b))
				}
			}
		}
		if len(msgs) >= n || time.Now().After(deadline) {
			if len(msgs) != n {
				e.t.Fatalf("%s %s holds %d messages, want %d", user, mailbox, len(msgs), n)
			}
			return msgs
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// send delivers over the MX listener in plaintext, as most MTAs would.
func (e *e2e) send(from, to, subject string) error {
	c, err := gosmtp.Dial(e.addr(smtp.MX))
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SendMail(from, []string{to}, strings.NewReader(message(from, to, subject)))
}

func (e *e2e) submit(user, from, to, subject string) error {
	c, err := gosmtp.DialStartTLS(e.addr(smtp.Submission), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", user, "password1")); err != nil {
		return err
	}
	return c.SendMail(from, []string{to}, strings.NewReader(message(from, to, subject)))
}

func message(from, to, subject string) string {
	return fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d@e2e.test>\r\n\r\nHello.\r\n",
		from, to, subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano())
}

// remoteMessages waits for the remote server to have n messages.
func (e *e2e) remoteMessages(n int) []*relaytest.Message {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		msgs := e.remote.Messages()
		if len(msgs) >= n || time.Now().After(deadline) {
			if len(msgs) != n {
				e.t.Fatalf("remote server has %d messages, want %d", len(msgs), n)
			}
			return msgs
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// requireTool finds an external program; in CI its absence is a failure.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (Debian package %s)", name, name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

func TestServeReceiveWithSwaks(t *testing.T) {
	swaks := requireTool(t, "swaks")
	e := newE2E(t, e2eInbound)
	out, err := exec.Command(swaks, "--server", e.addr(smtp.MX), "--helo", "client.example.org",
		"--from", "sender@example.org", "--to", "alice@example.net",
		"--header", "Subject: hello from swaks", "--body", "Hi Alice.").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	got := e.mailbox("alice@example.net", "INBOX", 1)[0]
	for _, want := range []string{
		"Return-Path: <sender@example.org>",
		"Received: from client.example.org ([127.0.0.1])",
		"by mx.example.net (sluice) with ESMTP id",
		"Authentication-Results: mx.example.net;",
		"spf=none",
		"Subject: hello from swaks",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("delivered message lacks %q:\n%s", want, got)
		}
	}
}

func TestServeInboundVerdicts(t *testing.T) {
	e := newE2E(t, e2eInbound)
	// A DNSBL rule (the client is listed in the zone file) refuses at RCPT.
	c, err := gosmtp.Dial(e.addr(smtp.MX))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("spammer@listed.example", nil); err != nil {
		t.Fatalf("MAIL: %v", err)
	}
	err = c.Rcpt("alice@example.net", nil)
	if se, ok := err.(*gosmtp.SMTPError); !ok || se.Code != 554 || !strings.Contains(se.Message, "listed at bl.example") {
		t.Errorf("RCPT from a listed client: %v", err)
	}
	c.Close()
	// A content rule refuses after DATA.
	if err := e.send("s@example.org", "alice@example.net", "BUY NOW"); err == nil || !strings.Contains(err.Error(), "Spam content refused") {
		t.Errorf("content reject: %v", err)
	}
	// Junk lands in Junk.
	if err := e.send("s@example.org", "alice@example.net", "cheap viagra"); err != nil {
		t.Fatal(err)
	}
	if junk := e.mailbox("alice@example.net", "Junk", 1)[0]; !strings.Contains(junk, "X-Spam-Flag: YES") {
		t.Errorf("junk message:\n%s", junk)
	}
	e.mailbox("alice@example.net", "INBOX", 0)
	// Quarantine holds the message out of every mailbox.
	if err := e.send("s@example.org", "alice@example.net", "HOLD me"); err != nil {
		t.Fatal(err)
	}
	qdir := filepath.Join(queue.Dir(e.in.cfg.Data), "quarantine")
	waitHeld := time.Now().Add(20 * time.Second)
	for {
		held, _ := queue.ListQuarantine(qdir)
		if len(held) == 1 {
			break
		}
		if time.Now().After(waitHeld) {
			t.Fatalf("%d messages held, want 1", len(held))
		}
		time.Sleep(25 * time.Millisecond)
	}
	e.mailbox("alice@example.net", "INBOX", 0)
	// An unauthenticated relay attempt is refused.
	if err := e.send("s@example.org", "someone@remote.example", "relay?"); err == nil || !strings.Contains(err.Error(), "Relay access denied") {
		t.Errorf("relay attempt: %v", err)
	}
	if n := len(e.in.queue.List()); n != 0 {
		t.Errorf("%d messages left in the queue", n)
	}
	// AUTH is refused on plaintext submission.
	sub, err := gosmtp.Dial(e.addr(smtp.Submission))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	err = sub.Auth(sasl.NewPlainClient("", "alice@example.net", "password1"))
	if se, ok := err.(*gosmtp.SMTPError); !ok || se.Code != 538 {
		t.Errorf("plaintext AUTH: %v", err)
	}
}

func TestServeSubmissionRelayDSNAndRetry(t *testing.T) {
	e := newE2E(t, e2eInbound)
	// Signed and relayed to the MX that the zone file names.
	if err := e.submit("alice@example.net", "alice@example.net", "friend@remote.example", "signed"); err != nil {
		t.Fatal(err)
	}
	got := e.remoteMessages(1)[0]
	if got.From != "alice@example.net" || got.To[0] != "friend@remote.example" || !got.TLS {
		t.Errorf("relayed %+v", got)
	}
	if res := dkim.Verify(context.Background(), e.zone, got.Data, 5); res.Result != "pass" {
		t.Errorf("DKIM on the relayed message: %+v\n%s", res, got.Data)
	}
	// A permanent failure there produces a DSN in the sender's INBOX.
	if err := e.submit("alice@example.net", "alice@example.net", "bounce@remote.example", "will bounce"); err != nil {
		t.Fatal(err)
	}
	dsn := e.mailbox("alice@example.net", "INBOX", 1)[0]
	for _, want := range []string{"multipart/report", "report-type=delivery-status", "bounce@remote.example", "Status: 5.1.1"} {
		if !strings.Contains(dsn, want) {
			t.Errorf("DSN lacks %q:\n%s", want, dsn)
		}
	}
	// The DSN, from MAILER-DAEMON@mx.example.net, is signed with
	// example.net's key like the user's own mail.
	if res := dkim.Verify(context.Background(), e.zone, []byte(dsn), 5); res.Result != "pass" {
		t.Errorf("DKIM on the DSN: %+v\n%s", res, dsn)
	}
	// A temporary failure is retried (retry: [1s]) and then delivered.
	if err := e.submit("bob@example.net", "bob@example.net", "flaky@remote.example", "retried"); err != nil {
		t.Fatal(err)
	}
	msgs := e.remoteMessages(2)
	if msgs[1].To[0] != "flaky@remote.example" || e.flaky.Load() < 2 {
		t.Errorf("retry: %d attempts, last message to %v", e.flaky.Load(), msgs[1].To)
	}
	e.mailbox("bob@example.net", "INBOX", 0) // no bounce for a retried message
}

// A message that an alias forwards out fails at the remote end; the DSN to
// its sender, a local user, is delivered to that user's INBOX here rather
// than sent out to the relay (the zone has no MX for example.net, so it
// would never arrive) and through the MX's rules again.
func TestServeDSNToLocalSenderStaysLocal(t *testing.T) {
	e := newE2E(t, e2eInbound)
	if err := e.in.accounts.SetAlias("fwd@example.net", []string{"bounce@remote.example"}); err != nil {
		t.Fatal(err)
	}
	if err := e.send("bob@example.net", "fwd@example.net", "forwarded"); err != nil {
		t.Fatal(err)
	}
	dsn := e.mailbox("bob@example.net", "INBOX", 1)[0]
	for _, want := range []string{"multipart/report", "bounce@remote.example", "Status: 5.1.1"} {
		if !strings.Contains(dsn, want) {
			t.Errorf("DSN lacks %q:\n%s", want, dsn)
		}
	}
	if n := len(e.remote.Messages()); n != 0 {
		t.Errorf("the remote server got %d messages", n)
	}
}

// A rule on dnsbl facts alone is decided at connection time and answered
// at the first RCPT (where the client logs the recipient); the listed
// client can send nothing.
func TestServeDNSBLAtRcpt(t *testing.T) {
	e := newE2E(t, `pipeline: inbound
stages:
  dnsbl:
    query_local: true
    zones: [{zone: bl.example}]
rules:
  - name: dnsbl-listed
    when: dnsbl.listed
    action: reject 554 5.7.1 "Client {{ conn.ip }} is listed at {{ dnsbl.hits[0].zone }}"
`)
	refusedAtRcpt(t, e)
}

// refusedAtRcpt checks that the client (127.0.0.1, listed at bl.example)
// is refused at its first RCPT, by the dnsbl stage alone.
func refusedAtRcpt(t *testing.T, e *e2e) {
	t.Helper()
	c, err := gosmtp.Dial(e.addr(smtp.MX))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("anyone@example.org", nil); err != nil {
		t.Fatalf("MAIL: %v", err)
	}
	err = c.Rcpt("alice@example.net", nil)
	if se, ok := err.(*gosmtp.SMTPError); !ok || se.Code != 554 || se.Message != "Client 127.0.0.1 is listed at bl.example" {
		t.Errorf("RCPT from a listed client: %v", err)
	}
	if line := e.verdictLine("rules=[dnsbl-listed]"); !strings.Contains(line, "phase=rcpt") || !strings.Contains(line, "stages=[dnsbl]") {
		t.Errorf("listed client not refused at RCPT by dnsbl alone: %q", line)
	}
}

// With a domain list configured beside the IP list, the IP list still
// decides at connection time: a listed client is refused at the first
// RCPT. The domain list decides after DATA: a clean client's message
// that links to a listed domain is refused then, and its other mail is
// delivered.
func TestServeURIBLBesideDNSBL(t *testing.T) {
	e := newE2E(t, `pipeline: inbound
stages:
  dnsbl:
    query_local: true
    zones: [{zone: bl.example}]
  uribl:
    zones: [{zone: dbl.example, codes: {127.0.1.2: spam}}]
rules:
  - name: dnsbl-listed
    when: dnsbl.listed
    action: reject 554 5.7.1 "Client {{ conn.ip }} is listed at {{ dnsbl.hits[0].zone }}"
  - name: uribl-listed
    when: uribl.listed
    action: reject 554 5.7.1 "Message names {{ uribl.hits[0].item }}, listed at {{ uribl.hits[0].zone }}"
`)
	refusedAtRcpt(t, e)

	// 127.0.0.2 is not listed: Linux answers on all of 127/8.
	from := func(local string) *gosmtp.Client {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
		conn, err := d.Dial("tcp", e.addr(smtp.MX))
		if err != nil {
			t.Skipf("cannot dial from %s: %v", local, err)
		}
		return gosmtp.NewClient(conn)
	}
	send := func(body string) error {
		c := from("127.0.0.2")
		defer c.Close()
		msg := "From: <s@example.org>\r\nTo: <alice@example.net>\r\nSubject: links\r\n\r\n" + body + "\r\n"
		return c.SendMail("s@example.org", []string{"alice@example.net"}, strings.NewReader(msg))
	}
	err := send("See https://www.bad-url.example/offer")
	if se, ok := err.(*gosmtp.SMTPError); !ok || se.Code != 554 || se.Message != "Message names bad-url.example, listed at dbl.example" {
		t.Errorf("DATA with a listed URL domain: %v", err)
	}
	if line := e.verdictLine("rules=[uribl-listed]"); !strings.Contains(line, "ip=127.0.0.2") || !strings.Contains(line, "phase=data") {
		t.Errorf("listed URL not refused at DATA: %q", line)
	}
	if err := send("See https://good.example/"); err != nil {
		t.Errorf("clean message from a clean client: %v", err)
	}
	e.mailbox("alice@example.net", "INBOX", 1)
}

// verdictLine returns the server's first verdict log line that holds
// want, "" if none does.
func (e *e2e) verdictLine(want string) string {
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, "msg=verdict") && strings.Contains(line, want) {
			return line
		}
	}
	return ""
}
