package queue_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/relay"
	"github.com/sluicemail/sluice/server/relay/relaytest"
	"github.com/sluicemail/sluice/server/store"
	"github.com/sluicemail/sluice/stages/resolver"
)

// The destination dest.test has its MX on 127.0.0.1 (the test server's
// port is given to the relay); nomail.test has a null MX.
const zone = `
dest.test.    300 IN MX 10 mx.dest.test.
mx.dest.test. 300 IN A  127.0.0.1
nomail.test.  300 IN MX 0 .
`

// system is a queue wired to the real Maildir store and a real relay
// client that delivers to a go-smtp server on loopback.
type system struct {
	data  string
	q     *queue.Queue
	smtp  *relaytest.Server
	store *store.Store
	stop  func()
}

func newSystem(t *testing.T, mod func(*queue.Options)) *system {
	t.Helper()
	s := &system{data: t.TempDir(), smtp: relaytest.Start(t, relaytest.Options{TLS: true})}
	z, err := resolver.ParseZone(zone)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := relay.New(relay.Options{Resolver: z, Hostname: "mx.sluice.test", Port: s.smtp.Port})
	if err != nil {
		t.Fatal(err)
	}
	if s.store, err = store.Open(s.data, store.Options{}); err != nil {
		t.Fatal(err)
	}
	o := queue.Options{Deliverer: s.store, Relay: rc, Hostname: "mx.sluice.test",
		Retry: []time.Duration{10 * time.Millisecond}, ScanInterval: 5 * time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	if s.q, err = queue.Open(queue.Dir(s.data), o); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.q.Run(ctx); close(done) }()
	s.stop = func() { cancel(); <-done; s.q.Close() }
	t.Cleanup(s.stop)
	return s
}

// mailbox returns the messages in a user's Maildir folder ("" = INBOX).
func (s *system) mailbox(t *testing.T, user, folder string) [][]byte {
	t.Helper()
	local, domain, _ := strings.Cut(user, "@")
	dir := filepath.Join(s.data, "mail", domain, local, folder)
	var out [][]byte
	for _, sub := range []string{"new", "cur"} {
		files, _ := filepath.Glob(filepath.Join(dir, sub, "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

const outMsg = "From: alice@local.test\r\nTo: bob@dest.test\r\nSubject: outbound\r\nMessage-ID: <out1@local.test>\r\n\r\nhello\r\n"

func TestLocalDeliveryAddsReturnPath(t *testing.T) {
	s := newSystem(t, nil)
	_, err := s.q.Put(context.Background(), queue.Envelope{From: "x@remote.test",
		Rcpt: []queue.Recipient{{Addr: "u@local.test", Local: true, User: "u@local.test"},
			{Addr: "u@local.test", Local: true, User: "u@local.test", Mailbox: "Junk"}}}, []byte(outMsg))
	if err != nil {
		t.Fatal(err)
	}
	queue.WaitFor(t, "delivery", func() bool { return len(s.q.List()) == 0 })
	inbox, junk := s.mailbox(t, "u@local.test", ""), s.mailbox(t, "u@local.test", ".Junk")
	if len(inbox) != 1 || len(junk) != 1 {
		t.Fatalf("inbox %d, junk %d messages", len(inbox), len(junk))
	}
	if want := "Return-Path: <x@remote.test>\r\n" + outMsg; string(inbox[0]) != want {
		t.Fatalf("stored %q", inbox[0])
	}
}

// TestRelayPermanentFailureDSN: alice submits to three remote recipients;
// one is accepted by the destination, one gets 550, one is at a null MX
// domain. The accepted one arrives; alice finds one DSN in her INBOX
// naming the two failures.
func TestRelayPermanentFailureDSN(t *testing.T) {
	s := newSystem(t, nil)
	s.smtp.Rcpt = func(to string) error {
		if strings.HasPrefix(to, "gone@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
		}
		return nil
	}
	env := queue.Envelope{From: "alice@local.test", AuthUser: "alice@local.test", Rcpt: []queue.Recipient{
		{Addr: "bob@dest.test"}, {Addr: "gone@dest.test"}, {Addr: "x@nomail.test"}}}
	if _, err := s.q.Put(context.Background(), env, []byte(outMsg)); err != nil {
		t.Fatal(err)
	}
	queue.WaitFor(t, "queue to empty", func() bool { return len(s.q.List()) == 0 && len(s.mailbox(t, "alice@local.test", "")) > 0 })
	got := s.smtp.Messages()
	if len(got) != 1 || len(got[0].To) != 1 || got[0].To[0] != "bob@dest.test" || !got[0].TLS {
		t.Fatalf("destination got %+v", got)
	}
	inbox := s.mailbox(t, "alice@local.test", "")
	if len(inbox) != 1 {
		t.Fatalf("alice has %d messages, want 1 DSN", len(inbox))
	}
	report := checkDSN(t, inbox[0])
	for _, want := range []string{
		"Reporting-MTA: dns; mx.sluice.test",
		"Final-Recipient: rfc822; gone@dest.test", "Status: 5.1.1", "Diagnostic-Code: smtp; 550 5.1.1 no such user here",
		"Final-Recipient: rfc822; x@nomail.test", "Status: 5.1.10",
		"Action: failed",
	} {
		if !strings.Contains(report["message/delivery-status"], want) {
			t.Errorf("delivery-status lacks %q:\n%s", want, report["message/delivery-status"])
		}
	}
	if strings.Contains(report["message/delivery-status"], "bob@dest.test") {
		t.Error("the delivered recipient is in the DSN")
	}
	if !strings.Contains(report["text/rfc822-headers"], "Message-ID: <out1@local.test>") {
		t.Errorf("original headers missing: %q", report["text/rfc822-headers"])
	}
	if !bytes.HasPrefix(inbox[0], []byte("Return-Path: <>\r\n")) {
		t.Errorf("DSN does not have the null sender: %q", inbox[0][:40])
	}
}

// checkDSN parses a DSN and returns its parts by content type.
func checkDSN(t *testing.T, raw []byte) map[string]string {
	t.Helper()
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	ct, params, _ := e.Header.ContentType()
	if ct != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("Content-Type %s %v", ct, params)
	}
	parts := map[string]string{}
	mr := e.MultipartReader()
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pct, _, _ := p.Header.ContentType()
		b, _ := io.ReadAll(p.Body)
		parts[pct] = string(b)
	}
	if len(parts) != 3 || parts["text/plain"] == "" {
		t.Fatalf("DSN parts: %v", parts)
	}
	return parts
}

func TestRelayTemporaryFailureRetried(t *testing.T) {
	s := newSystem(t, nil)
	var calls atomic.Int32
	s.smtp.Data = func(*relaytest.Message) error {
		if calls.Add(1) == 1 {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
		return nil
	}
	env := queue.Envelope{From: "alice@local.test", AuthUser: "alice@local.test", Rcpt: []queue.Recipient{{Addr: "bob@dest.test"}}}
	if _, err := s.q.Put(context.Background(), env, []byte(outMsg)); err != nil {
		t.Fatal(err)
	}
	queue.WaitFor(t, "delivery", func() bool { return len(s.smtp.Messages()) == 1 })
	queue.WaitFor(t, "queue to empty", func() bool { return len(s.q.List()) == 0 })
	if calls.Load() != 2 {
		t.Fatalf("DATA tried %d times, want 2", calls.Load())
	}
	if n := len(s.mailbox(t, "alice@local.test", "")); n != 0 {
		t.Fatalf("alice got %d messages (a DSN for a temporary failure?)", n)
	}
}

func TestNoBounceForNullSender(t *testing.T) {
	s := newSystem(t, nil)
	s.smtp.Rcpt = func(string) error { return &smtp.SMTPError{Code: 550, Message: "no"} }
	env := queue.Envelope{From: "", AuthUser: "alice@local.test", Rcpt: []queue.Recipient{{Addr: "gone@dest.test"}}}
	if _, err := s.q.Put(context.Background(), env, []byte(outMsg)); err != nil {
		t.Fatal(err)
	}
	queue.WaitFor(t, "queue to empty", func() bool { return len(s.q.List()) == 0 })
	time.Sleep(50 * time.Millisecond)
	if n := len(s.mailbox(t, "alice@local.test", "")); n != 0 {
		t.Fatalf("a bounce of a null-sender message was delivered (%d)", n)
	}
	if n := len(s.smtp.Messages()); n != 0 {
		t.Fatalf("destination got %d messages", n)
	}
}

// TestExpiry: a destination that never stops answering 4xx; once the
// message is older than MaxAge, the sender gets a DSN with 4.4.7.
func TestExpiry(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	s := newSystem(t, func(o *queue.Options) {
		o.Now = func() time.Time { return time.Unix(0, clock.Load()) }
		o.MaxAge = time.Hour
	})
	s.smtp.Rcpt = func(string) error { return &smtp.SMTPError{Code: 450, Message: "mailbox busy"} }
	env := queue.Envelope{From: "alice@local.test", AuthUser: "alice@local.test", Rcpt: []queue.Recipient{{Addr: "bob@dest.test"}}}
	if _, err := s.q.Put(context.Background(), env, []byte(outMsg)); err != nil {
		t.Fatal(err)
	}
	queue.WaitFor(t, "a failed attempt", func() bool { l := s.q.List(); return len(l) == 1 && l[0].Attempts > 0 })
	clock.Add(int64(2 * time.Hour))
	queue.WaitFor(t, "expiry", func() bool { return len(s.q.List()) == 0 && len(s.mailbox(t, "alice@local.test", "")) == 1 })
	report := checkDSN(t, s.mailbox(t, "alice@local.test", "")[0])
	if ds := report["message/delivery-status"]; !strings.Contains(ds, "Status: 4.4.7") || !strings.Contains(ds, "mailbox busy") {
		t.Fatalf("delivery-status: %s", ds)
	}
}

// TestBrokenMailboxKeepsMessage: a mailbox that cannot be written (a file
// where the user's directory should be) makes delivery fail; the message
// stays queued and arrives once the problem is fixed.
func TestBrokenMailboxKeepsMessage(t *testing.T) {
	s := newSystem(t, nil)
	blocker := filepath.Join(s.data, "mail", "local.test", "u")
	if err := os.MkdirAll(filepath.Dir(blocker), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocker, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := queue.Envelope{From: "x@remote.test", Rcpt: []queue.Recipient{{Addr: "u@local.test", Local: true, User: "u@local.test"}}}
	if _, err := s.q.Put(context.Background(), env, []byte(outMsg)); err != nil {
		t.Fatal(err)
	}
	queue.WaitFor(t, "failed attempts", func() bool { l := s.q.List(); return len(l) == 1 && l[0].Attempts >= 2 })
	if l := s.q.List(); l[0].LastErr == "" {
		t.Fatal("no error recorded")
	}
	os.Remove(blocker)
	queue.WaitFor(t, "delivery", func() bool { return len(s.q.List()) == 0 })
	if n := len(s.mailbox(t, "u@local.test", "")); n != 1 {
		t.Fatalf("u has %d messages", n)
	}
}

func TestQuarantine(t *testing.T) {
	s := newSystem(t, nil)
	env := queue.Envelope{From: "x@remote.test", Quarantine: true, Reason: "rule suspicious",
		Rcpt: []queue.Recipient{{Addr: "u@local.test", Local: true, User: "u@local.test"}}}
	for range 2 {
		if _, err := s.q.Put(context.Background(), env, []byte(outMsg)); err != nil {
			t.Fatal(err)
		}
	}
	qdir := filepath.Join(queue.Dir(s.data), "quarantine")
	var held []queue.Held
	queue.WaitFor(t, "quarantine", func() bool {
		held, _ = queue.ListQuarantine(qdir)
		return len(held) == 2 && len(s.q.List()) == 0
	})
	if n := len(s.mailbox(t, "u@local.test", "")); n != 0 {
		t.Fatalf("a quarantined message was delivered")
	}
	if held[0].Env.Reason != "rule suspicious" || held[0].Env.Rcpt[0].User != "u@local.test" {
		t.Fatalf("held: %+v", held[0])
	}
	if _, err := s.q.Release(held[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := queue.DeleteQuarantined(qdir, held[1].ID); err != nil {
		t.Fatal(err)
	}
	queue.WaitFor(t, "released delivery", func() bool { return len(s.mailbox(t, "u@local.test", "")) == 1 })
	if left, _ := queue.ListQuarantine(qdir); len(left) != 0 {
		t.Fatalf("still held: %+v", left)
	}
	if _, err := s.q.Release(held[1].ID); err == nil {
		t.Fatal("released a deleted message")
	}
}

// TestLocalPermanentFailureDSN: a recipient the store can never deliver to
// (an invalid user name) is bounced at once, not retried for days.
func TestLocalPermanentFailureDSN(t *testing.T) {
	s := newSystem(t, nil)
	env := queue.Envelope{From: "alice@local.test", AuthUser: "alice@local.test", Rcpt: []queue.Recipient{
		{Addr: "../evil@local.test", Local: true, User: "../evil@local.test"},
		{Addr: "bob@local.test", Local: true, User: "bob@local.test"}}}
	if _, err := s.q.Put(context.Background(), env, []byte(outMsg)); err != nil {
		t.Fatal(err)
	}
	queue.WaitFor(t, "queue to empty", func() bool { return len(s.q.List()) == 0 && len(s.mailbox(t, "alice@local.test", "")) == 1 })
	if n := len(s.mailbox(t, "bob@local.test", "")); n != 1 {
		t.Fatalf("bob has %d messages", n)
	}
	ds := checkDSN(t, s.mailbox(t, "alice@local.test", "")[0])["message/delivery-status"]
	if !strings.Contains(ds, "Final-Recipient: rfc822; ../evil@local.test") || !strings.Contains(ds, "Status: 5.1.1") {
		t.Fatalf("delivery-status: %s", ds)
	}
}

// TestDSNToRemoteSender: inbound mail that cannot be delivered locally is
// bounced to its remote sender through the relay, with the null sender.
func TestDSNToRemoteSender(t *testing.T) {
	s := newSystem(t, nil)
	env := queue.Envelope{From: "someone@dest.test", Rcpt: []queue.Recipient{
		{Addr: "../bad@local.test", Local: true, User: "../bad@local.test"}}}
	if _, err := s.q.Put(context.Background(), env, []byte(outMsg)); err != nil {
		t.Fatal(err)
	}
	queue.WaitFor(t, "the DSN to arrive", func() bool { return len(s.smtp.Messages()) == 1 && len(s.q.List()) == 0 })
	got := s.smtp.Messages()[0]
	if got.From != "" || len(got.To) != 1 || got.To[0] != "someone@dest.test" {
		t.Fatalf("DSN envelope: from %q to %v", got.From, got.To)
	}
	checkDSN(t, got.Data)
}

// TestDSNRoute: Options.Route decides where an inbound message's DSN goes
// (here: the local sender's INBOX, not out through the relay), a route of
// none queues no DSN, and a submitted message's DSN still goes to the
// submitting user whatever Route says.
func TestDSNRoute(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	s := newSystem(t, func(o *queue.Options) {
		o.Route = func(addr string) ([]queue.Recipient, bool) {
			mu.Lock() // delivery workers route at once
			asked = append(asked, addr)
			mu.Unlock()
			switch addr {
			case "carol@local.test":
				return []queue.Recipient{{Addr: addr, Local: true, User: addr, Mailbox: "INBOX"}}, true
			case "alice@local.test":
				return []queue.Recipient{{Addr: "elsewhere@dest.test"}}, true
			}
			return nil, false
		}
	})
	bad := []queue.Recipient{{Addr: "../bad@local.test", Local: true, User: "../bad@local.test"}}
	for _, env := range []queue.Envelope{
		{From: "carol@local.test", Rcpt: bad},                               // inbound from a local sender
		{From: "ghost@local.test", Rcpt: bad},                               // no route: no DSN
		{From: "alice@local.test", AuthUser: "alice@local.test", Rcpt: bad}, // submitted: her INBOX
	} {
		if _, err := s.q.Put(context.Background(), env, []byte(outMsg)); err != nil {
			t.Fatal(err)
		}
	}
	queue.WaitFor(t, "the DSNs", func() bool {
		return len(s.q.List()) == 0 && len(s.mailbox(t, "carol@local.test", "")) == 1 && len(s.mailbox(t, "alice@local.test", "")) == 1
	})
	checkDSN(t, s.mailbox(t, "carol@local.test", "")[0])
	checkDSN(t, s.mailbox(t, "alice@local.test", "")[0])
	if n := len(s.smtp.Messages()); n != 0 {
		t.Errorf("%d DSNs went out through the relay", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(asked) != "[carol@local.test ghost@local.test]" && fmt.Sprint(asked) != "[ghost@local.test carol@local.test]" {
		t.Errorf("Route asked for %v; a submitted message's DSN must not ask it", asked)
	}
}
