package imap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/smtp"
	"github.com/sluicemail/sluice/server/store"
)

// events collects a client's unsolicited responses.
type events struct {
	exists  chan uint32
	expunge chan uint32
	flags   chan string
}

func newEvents() *events {
	return &events{exists: make(chan uint32, 100), expunge: make(chan uint32, 100), flags: make(chan string, 100)}
}

func (e *events) handler() *imapclient.UnilateralDataHandler {
	return &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				e.exists <- *d.NumMessages
			}
		},
		Expunge: func(seq uint32) { e.expunge <- seq },
		Fetch: func(msg *imapclient.FetchMessageData) {
			buf, err := msg.Collect()
			if err == nil {
				e.flags <- fmt.Sprintf("%d %v", buf.SeqNum, buf.Flags)
			}
		},
	}
}

func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s", what)
	}
	var zero T
	return zero
}

func (ts *testServer) login(t *testing.T, user string, ev *events) *imapclient.Client {
	t.Helper()
	opts := &imapclient.Options{TLSConfig: ts.clientTLS}
	if ev != nil {
		opts.UnilateralDataHandler = ev.handler()
	}
	c, err := imapclient.DialTLS(ts.tls, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, testUsers[user]).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestIdleSeesDeliveries: a message delivered into the store, and one
// sent over SMTP through the queue, appear as EXISTS in an idling session.
func TestIdleSeesDeliveries(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	seed(t, ts.store, user)
	ev := newEvents()
	c := ts.login(t, user, ev)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := ts.store.Deliver(user, "INBOX", []byte(msgFirst), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n := wait(t, ev.exists, "EXISTS after Deliver"); n != 4 {
		t.Fatalf("EXISTS %d, want 4", n)
	}
	t.Logf("Deliver to IDLE EXISTS: %v", time.Since(start))

	// Through SMTP: the MX listener, the durable queue, the store.
	addr := ts.startMX(t)
	start = time.Now()
	sc := dialSMTP(t, addr)
	if err := sc.SendMail("dave@example.net", []string{user}, strings.NewReader(msgSecond)); err != nil {
		t.Fatal(err)
	}
	sc.Close()
	if n := wait(t, ev.exists, "EXISTS after SMTP"); n != 5 {
		t.Fatalf("EXISTS %d, want 5", n)
	}
	t.Logf("SMTP to IDLE EXISTS: %v", time.Since(start))
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(5), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].Envelope.Subject != "second message" {
		t.Fatalf("fetch of the SMTP message: %v %v", msgs, err)
	}
}

// startMX starts sluice's SMTP MX listener on loopback, delivering
// through the durable queue into the test server's store, and returns its
// address; both stop at the end of the test.
func (ts *testServer) startMX(t *testing.T) string {
	t.Helper()
	q, err := queue.Open(queue.Dir(ts.data), queue.Options{Deliverer: ts.store, Hostname: "mx.example.org",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; q.Close() })
	accts := ts.srv.opts.Auth.(smtp.Accounts)
	mx, err := smtp.New(smtp.Options{Hostname: "mx.example.org", Domains: []string{"example.org"}, Queue: q,
		Accounts: accts, Quota: ts.store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := mx.Listen(smtp.MX, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mx.Shutdown(context.Background()) })
	return addr.String()
}

// dialSMTP connects to an SMTP listener and says EHLO.
func dialSMTP(t *testing.T, addr string) *gosmtp.Client {
	t.Helper()
	sc, err := gosmtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Hello("client.example.net"); err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestTwoSessions: flags, expunges and new mail made by one session reach
// the other.
func TestTwoSessions(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	seed(t, ts.store, user)
	evA, evB := newEvents(), newEvents()
	a, b := ts.login(t, user, evA), ts.login(t, user, evB)
	for _, c := range []*imapclient.Client{a, b} {
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true,
		Flags: []imap.Flag{imap.FlagFlagged, "$Todo"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	b.Noop().Wait()
	if got := wait(t, evB.flags, "FETCH FLAGS in B"); got != `2 [\Flagged $Todo]` {
		t.Errorf("B saw %q", got)
	}
	if err := a.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true,
		Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	b.Noop().Wait()
	wait(t, evB.flags, "FETCH FLAGS \\Deleted in B")
	if seq := wait(t, evB.expunge, "EXPUNGE in B"); seq != 1 {
		t.Errorf("B saw EXPUNGE %d", seq)
	}
	if _, err := appendMsg(t, a, "INBOX", msgFirst); err != nil {
		t.Fatal(err)
	}
	b.Noop().Wait()
	if n := wait(t, evB.exists, "EXISTS in B"); n != 3 {
		t.Errorf("B saw EXISTS %d", n)
	}
}

func appendMsg(t *testing.T, c *imapclient.Client, mailbox, raw string, flags ...imap.Flag) (*imap.AppendData, error) {
	t.Helper()
	cmd := c.Append(mailbox, int64(len(raw)), &imap.AppendOptions{Flags: flags})
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	return cmd.Wait()
}

// TestQuotaAppend: APPEND over the user's storage limit gets
// NO [OVERQUOTA] and stores nothing.
func TestQuotaAppend(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{Quota: func(string) int64 { return 800 }})
	c := ts.login(t, "alice@example.org", nil)
	if _, err := appendMsg(t, c, "Sent", msgSecond); err != nil {
		t.Fatal(err)
	}
	if _, err := appendMsg(t, c, "Sent", msgSecond); err != nil {
		t.Fatal(err)
	}
	_, err := appendMsg(t, c, "Sent", msgSecond+strings.Repeat("x", 400)+"\r\n")
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeOverQuota {
		t.Fatalf("APPEND over quota = %v, want NO [OVERQUOTA]", err)
	}
	st, err := c.Status("Sent", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 2 {
		t.Fatalf("Sent has %v messages (%v), want 2", st, err)
	}
}

// rawConn is a line-level client for what imapclient will not do (send
// credentials in the clear).
type rawConn struct {
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr, local string) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	rc := &rawConn{c: c, r: bufio.NewReader(c)}
	rc.line(t) // greeting
	return rc
}

func (rc *rawConn) line(t testing.TB) string {
	t.Helper()
	l, err := rc.r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(l, "\r\n")
}

// cmd sends a command and returns the tagged reply.
func (rc *rawConn) cmd(t testing.TB, tag, text string) string {
	t.Helper()
	fmt.Fprintf(rc.c, "%s %s\r\n", tag, text)
	for {
		if l := rc.line(t); strings.HasPrefix(l, tag+" ") {
			return l
		}
	}
}

// TestNoAuthBeforeTLS: on the plain listener neither LOGIN nor
// AUTHENTICATE PLAIN is accepted before STARTTLS.
func TestNoAuthBeforeTLS(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	rc := dialRaw(t, ts.plain, "")
	if got := rc.cmd(t, "a1", "LOGIN alice@example.org alice-secret"); !strings.HasPrefix(got, "a1 NO") {
		t.Errorf("LOGIN before TLS: %s", got)
	}
	// AUTHENTICATE PLAIN with an initial response (SASL-IR).
	if got := rc.cmd(t, "a2", "AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUub3JnAGFsaWNlLXNlY3JldA=="); !strings.HasPrefix(got, "a2 NO") {
		t.Errorf("AUTHENTICATE before TLS: %s", got)
	}
	if got := rc.cmd(t, "a3", "SELECT INBOX"); !strings.HasPrefix(got, "a3 BAD") && !strings.HasPrefix(got, "a3 NO") {
		t.Errorf("SELECT unauthenticated: %s", got)
	}
}

// TestLoginRateLimit: after MaxLoginFailures failures for one account
// from one IP even the right password for it is refused from there;
// another account behind the same IP, and the same account from another
// IP, still log in, until the IP as a whole has failed five times as often.
func TestLoginRateLimit(t *testing.T) {
	ts := newTestServer(t, Options{MaxLoginFailures: 3}, store.Options{})
	login := func(local, user, pass string) error {
		t.Helper()
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		c, err := imapclient.DialTLS(ts.tls, &imapclient.Options{TLSConfig: ts.clientTLS, Dialer: d})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.Login(user, pass).Wait()
	}
	locked := func(err error) bool {
		var ie *imap.Error
		return errors.As(err, &ie) && ie.Code == imap.ResponseCodeUnavailable
	}
	const alice, bob = "alice@example.org", "bob@example.org"
	for i := 0; i < 3; i++ {
		if err := login("127.0.0.1", alice, fmt.Sprint("guess", i)); err == nil || locked(err) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if err := login("127.0.0.1", alice, testUsers[alice]); !locked(err) {
		t.Fatalf("alice from a locked-out IP = %v, want NO [UNAVAILABLE]", err)
	}
	if err := login("127.0.0.1", bob, testUsers[bob]); err != nil {
		t.Fatalf("bob from the same IP: %v", err)
	}
	if err := login("127.0.0.2", alice, testUsers[alice]); err != nil {
		t.Fatalf("alice from another IP: %v", err)
	}
	// Guessing across accounts: the IP as a whole is locked out.
	for i := 0; i < 15; i++ {
		login("127.0.0.1", fmt.Sprintf("user%d@example.org", i), "guess")
	}
	if err := login("127.0.0.1", bob, testUsers[bob]); !locked(err) {
		t.Fatalf("bob from an IP that guessed across accounts = %v, want NO [UNAVAILABLE]", err)
	}
}

// TestPersistence: UIDs, UIDVALIDITY, flags and keywords survive a
// restart; deleting the index rebuilds it with a new UIDVALIDITY and every
// message present.
func TestPersistence(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	seed(t, ts.store, user)
	c := ts.login(t, user, nil)
	if _, err := appendMsg(t, c, "INBOX", msgFirst, imap.FlagSeen, "$Work"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
	c.Expunge().Close()
	c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagAnswered, "Later"}}, nil).Close()
	state := func(c *imapclient.Client) (uint32, string) {
		t.Helper()
		sel, err := c.Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, m := range msgs {
			fmt.Fprintf(&b, "%d%v ", m.UID, m.Flags)
		}
		return sel.UIDValidity, b.String()
	}
	validity, before := state(c)
	if before != `2[\Answered Later] 3[] 4[\Seen $Work] ` {
		t.Fatalf("state before restart: %s", before)
	}
	c.Close()

	restart := func() *imapclient.Client {
		ts.srv.Close()
		ts.store.Close()
		*ts = *newTestServerAt(t, ts.data)
		return ts.login(t, user, nil)
	}
	c = restart()
	v2, after := state(c)
	if v2 != validity || after != before {
		t.Fatalf("after restart: %d %s, want %d %s", v2, after, validity, before)
	}
	c.Close()
	time.Sleep(1100 * time.Millisecond) // UIDVALIDITY is time-based
	ts.srv.Close()
	ts.store.Close()
	if err := os.Remove(filepath.Join(ts.data, "mail", "example.org", "alice", store.IndexFile)); err != nil {
		t.Fatal(err)
	}
	*ts = *newTestServerAt(t, ts.data)
	c = ts.login(t, user, nil)
	v3, rebuilt := state(c)
	// Rebuilt from the files, the messages are new to the index, so the
	// first session sees them as \Recent (RFC 3501 2.3.2).
	if v3 == validity || rebuilt != `1[\Recent \Answered] 2[\Recent] 3[\Recent \Seen] ` {
		t.Fatalf("after index loss: %d %s (was %d)", v3, rebuilt, validity)
	}
}

// TestIdleSeesOutsideFiles: a message file copied into the Maildir by
// hand reaches an idling session through the file watcher (the periodic
// rescan is set to an hour so it cannot be what finds it).
func TestIdleSeesOutsideFiles(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{Rescan: time.Hour})
	const user = "alice@example.org"
	seed(t, ts.store, user)
	ev := newEvents()
	c := ts.login(t, user, ev)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(ts.data, "mail", "example.org", "alice")
	start := time.Now()
	if err := os.WriteFile(filepath.Join(dir, "tmp", "1700000000.byhand.host"), []byte(msgSecond), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "tmp", "1700000000.byhand.host"), filepath.Join(dir, "new", "1700000000.byhand.host")); err != nil {
		t.Fatal(err)
	}
	if n := wait(t, ev.exists, "EXISTS for a file added by hand"); n != 4 {
		t.Fatalf("EXISTS %d, want 4", n)
	}
	t.Logf("file added by hand to IDLE EXISTS: %v", time.Since(start))
	// And one removed by hand is expunged.
	cur, _ := filepath.Glob(filepath.Join(dir, "cur", "*byhand*"))
	if len(cur) != 1 {
		t.Fatalf("adopted file not in cur/: %v", cur)
	}
	os.Remove(cur[0])
	if seq := wait(t, ev.expunge, "EXPUNGE for a file removed by hand"); seq != 4 {
		t.Fatalf("EXPUNGE %d, want 4", seq)
	}
	idle.Close()
	idle.Wait()
}
