package smtp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/store"
	"github.com/sluicemail/sluice/stages/resolver"
	"golang.org/x/crypto/bcrypt"
)

func init() { auth.HashCost = bcrypt.MinCost }

// harness is a real server on loopback: accounts, the Maildir store, the
// spool with its delivery workers, the rules (live, from a directory) and
// the SMTP listeners.
type harness struct {
	t        testing.TB
	dir      string
	accounts *auth.Accounts
	store    *store.Store
	queue    *queue.Queue
	spy      *spyQueue
	live     *rules.Live
	rulesDir string
	srv      *Server
	mx, sub  string // listener addresses
	subs     string
	logs     *syncBuffer
}

// spyQueue records what reaches the real queue.
type spyQueue struct {
	q    *queue.Queue
	mu   sync.Mutex
	puts []queue.Envelope
	raws [][]byte
}

func (s *spyQueue) Put(ctx context.Context, env queue.Envelope, raw []byte) (string, error) {
	s.mu.Lock()
	s.puts = append(s.puts, env)
	s.raws = append(s.raws, raw)
	s.mu.Unlock()
	return s.q.Put(ctx, env, raw)
}

func (s *spyQueue) raw(i int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.raws[i])
}

func (s *spyQueue) envelopes() []queue.Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]queue.Envelope(nil), s.puts...)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

const testRules = `pipeline: inbound
rules:
  - name: blocked-sender
    when: envelope.mail_from == "spammer@bad.example"
    action: reject 550 5.7.1 "Sender {{ envelope.mail_from }} refused"
  - name: buy-now
    when: msg.subject contains "BUY NOW"
    action: reject 554 5.7.1 "Spam content refused"
  - name: tempfail-me
    when: msg.subject contains "TEMPFAIL"
    action: tempfail 451 4.7.1 "Try later"
  - name: junk-me
    when: msg.subject contains "viagra"
    action: junk
    headers: {X-Spam-Flag: "YES"}
  - name: hold-me
    when: msg.subject contains "HOLD"
    action: quarantine
  - name: drop-me
    when: msg.subject contains "DROP"
    action: discard
  - name: redirect-me
    when: msg.subject contains "REDIRECT"
    action: redirect bob@example.net
  - name: tag-me
    when: msg.subject contains "offer"
    tag: "[SPAM?]"
    headers: {X-Offer: "yes"}
`

type harnessOpts struct {
	rules   string            // inbound rule file; "" for testRules
	files   map[string]string // more files in the rule directory
	dns     resolver.Resolver
	modify  func(*Options)
	signer  Signer
	noQuota bool
	quota   int64 // per-user storage limit in bytes (0: none)
	queue   func(*queue.Options)
	always  []string     // stages the rules build even when no rule reads them
	state   engine.State // rate limits and greylisting; nil: the rules' memory
}

func newHarness(t testing.TB, ho harnessOpts) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), logs: &syncBuffer{}}
	var err error
	if h.accounts, err = auth.Open(h.dir); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice@example.net", "bob@example.net", "relaytest@example.net"} {
		if err := h.accounts.AddUser(u, "password1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.accounts.SetAlias("team@example.net", []string{"alice@example.net", "bob@example.net"}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if h.store, err = store.Open(h.dir, store.Options{Logger: log, Quota: func(string) int64 { return ho.quota }}); err != nil {
		t.Fatal(err)
	}
	qo := queue.Options{Deliverer: h.store, Hostname: "mx.example.net", Logger: log}
	if ho.queue != nil {
		ho.queue(&qo)
	}
	if h.queue, err = queue.Open(queue.Dir(h.dir), qo); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.queue.Run(ctx); close(done) }()
	h.spy = &spyQueue{q: h.queue}

	h.rulesDir = filepath.Join(h.dir, "rules")
	os.MkdirAll(h.rulesDir, 0o755)
	r := ho.rules
	if r == "" {
		r = testRules
	}
	os.WriteFile(filepath.Join(h.rulesDir, "inbound.yaml"), []byte(r), 0o644)
	for name, text := range ho.files {
		os.MkdirAll(filepath.Dir(filepath.Join(h.rulesDir, name)), 0o755)
		os.WriteFile(filepath.Join(h.rulesDir, name), []byte(text), 0o644)
	}
	if h.live, err = rules.NewLive(h.rulesDir, rules.Options{DNS: ho.dns, DataDir: h.dir, Always: ho.always, State: ho.state}); err != nil {
		t.Fatal(err)
	}
	h.live.SetLogger(log)
	certPEM, keyPEM, err := config.SelfSigned("mx.example.net")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Hostname: "mx.example.net", Domains: []string{"example.net", "mx.example.net", "xn--bcher-kva.example.net"},
		Queue: h.spy, Accounts: h.accounts, Quota: h.store, DNS: ho.dns, Signer: ho.signer,
		Pipeline:         func(name string) *engine.Pipeline { return h.live.Current().Pipeline(name) },
		TLS:              &tls.Config{Certificates: []tls.Certificate{pair}},
		RequireFromMatch: true, Logger: log, MaxMessageBytes: 1 << 20, MaxHeaderBytes: 64 << 10,
	}
	if ho.noQuota {
		opts.Quota = nil
	}
	if ho.modify != nil {
		ho.modify(&opts)
	}
	if h.srv, err = New(opts); err != nil {
		t.Fatal(err)
	}
	h.mx = h.listen(MX)
	h.sub = h.listen(Submission)
	h.subs = h.listen(Submissions)
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		h.srv.Shutdown(sctx)
		cancel()
		<-done
		h.queue.Close()
		h.store.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", h.logs.String())
		}
	})
	return h
}

func (h *harness) listen(kind string) string {
	a, err := h.srv.Listen(kind, "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	return a.String()
}

// send delivers one message over the MX listener with go-smtp's client.
func (h *harness) send(from string, to []string, msg string) error {
	c, err := gosmtp.Dial(h.mx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.example.org"); err != nil {
		return err
	}
	return c.SendMail(from, to, strings.NewReader(msg))
}

// submit sends over 587 with STARTTLS and AUTH PLAIN.
func (h *harness) submit(user, from string, to []string, msg string) error {
	c, err := gosmtp.DialStartTLS(h.sub, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Auth(plainAuth(user, "password1")); err != nil {
		return err
	}
	return c.SendMail(from, to, strings.NewReader(msg))
}

// mailbox waits until user's mailbox holds n messages and returns them.
// The wait is for the delivery workers, not a timing assertion.
func (h *harness) mailbox(user, mailbox string, n int) []string {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		msgs := h.messages(user, mailbox)
		if len(msgs) >= n || time.Now().After(deadline) {
			if len(msgs) != n {
				h.t.Fatalf("%s %s: %d messages, want %d", user, mailbox, len(msgs), n)
			}
			return msgs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// messages returns the messages in user's mailbox now.
func (h *harness) messages(user, mailbox string) []string {
	dir, err := h.store.MailboxDir(user, mailbox)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err == nil {
				out = append(out, string(b))
			}
		}
	}
	return out
}

// idle waits until the queue has nothing left to deliver now.
func (h *harness) idle() {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for len(h.queue.List()) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// conv is a raw SMTP conversation for protocol tests.
type conv struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialConv(t *testing.T, addr string) *conv {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	c := &conv{t: t, conn: conn, r: bufio.NewReader(conn)}
	t.Cleanup(func() { conn.Close() })
	c.expect("220")
	return c
}

// reply reads one (possibly multi-line) reply and returns it whole.
func (c *conv) reply() string {
	c.t.Helper()
	var all strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return all.String() + "<" + err.Error() + ">"
		}
		all.WriteString(line)
		if len(line) < 4 || line[3] != '-' {
			return all.String()
		}
	}
}

// expect reads a reply and fails unless it starts with prefix.
func (c *conv) expect(prefix string) string {
	c.t.Helper()
	r := c.reply()
	if !strings.HasPrefix(r, prefix) {
		c.t.Fatalf("got %q, want %s...", r, prefix)
	}
	return r
}

func (c *conv) send(s string) { c.conn.Write([]byte(s)) }

// cmd sends a command line and returns the reply.
func (c *conv) cmd(format string, args ...any) string {
	c.t.Helper()
	c.send(fmt.Sprintf(format, args...) + "\r\n")
	return c.reply()
}

func simpleMessage(from, to, subject, body string) string {
	return fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%d@example.org>\r\n\r\n%s\r\n",
		from, to, subject, time.Now().UnixNano(), body)
}

// startTLS upgrades a raw conversation.
func (c *conv) startTLS() {
	c.t.Helper()
	if r := c.cmd("STARTTLS"); !strings.HasPrefix(r, "220") {
		c.t.Fatalf("STARTTLS: %q", r)
	}
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn = tc
	c.r = bufio.NewReader(tc)
}

// expect235 authenticates alice with AUTH PLAIN.
func (c *conv) expect235() {
	c.t.Helper()
	if r := c.cmd("AUTH PLAIN %s", plainIR("alice@example.net", "password1")); !strings.HasPrefix(r, "235") {
		c.t.Fatalf("AUTH: %q", r)
	}
}

func (c *conv) expect250(cmd string) {
	c.t.Helper()
	if r := c.cmd("%s", cmd); !strings.HasPrefix(r, "250") {
		c.t.Fatalf("%s: %q", cmd, r)
	}
}

func plainIR(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

// dialConvRaw connects without reading the greeting.
func dialConvRaw(t *testing.T, addr string) *conv {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return &conv{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// startTLSHandshake runs the TLS handshake after a 220 already read.
func (c *conv) startTLSHandshake() {
	c.t.Helper()
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn = tc
	c.r = bufio.NewReader(tc)
}
