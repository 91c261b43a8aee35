package smtp

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/state"
	"github.com/sluicemail/sluice/server/state/redistest"
)

const stateRules = `pipeline: inbound
stages:
  greylist: {delay: 1s, window: 1h}
rules:
  - name: per-sender
    when: rate_exceeded("per-sender", envelope.mail_from, "2/h")
    action: tempfail 450 4.7.1 "Too many messages from {{ envelope.mail_from }} ({{ rate.checks[0].count }} this hour)"
  - name: grey
    when: envelope.mail_from endsWith "@grey.example"
    action: greylist
`

// node is one sluice SMTP server on the shared Redis.
func node(t *testing.T, addr string) *harness {
	t.Helper()
	r := state.OpenRedis(state.RedisOptions{Addr: addr, Timeout: 300 * time.Millisecond})
	t.Cleanup(func() { r.Close() })
	return newHarness(t, harnessOpts{rules: stateRules, state: r, modify: func(o *Options) {
		o.Bans, o.MaxAuthFailures = r, 2
	}})
}

func smtpReply(err error) (int, string) {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		return se.Code, se.Message
	}
	return 0, ""
}

// TestTwoNodesOneRedis: two sluice servers, each with its own Redis
// connection to one real redis-server, share rate limits, greylisting and
// auth bans: what happens on A counts on B.
func TestTwoNodesOneRedis(t *testing.T) {
	srv := redistest.Start(t)
	a, b := node(t, srv.Addr), node(t, srv.Addr)
	msg := simpleMessage("bulk@example.org", "alice@example.net", "hello", "hi")

	// A rate limit of 2/h, hit once on each node, refuses the third on A.
	if err := a.send("bulk@example.org", []string{"alice@example.net"}, msg); err != nil {
		t.Fatalf("first on A: %v", err)
	}
	if err := b.send("bulk@example.org", []string{"alice@example.net"}, msg); err != nil {
		t.Fatalf("second on B: %v", err)
	}
	err := a.send("bulk@example.org", []string{"alice@example.net"}, msg)
	if code, text := smtpReply(err); code != 450 || text != "Too many messages from bulk@example.org (2 this hour)" {
		t.Fatalf("third on A: %v, want 450 from the shared count", err)
	}

	// Greylisted on A; retried after the delay on B, it passes.
	grey := simpleMessage("news@grey.example", "bob@example.net", "news", "n")
	err = a.send("news@grey.example", []string{"bob@example.net"}, grey)
	if code, text := smtpReply(err); code != 451 || !strings.HasPrefix(text, "Greylisted, retry after") {
		t.Fatalf("first try on A: %v, want 451 greylisted", err)
	}
	time.Sleep(1100 * time.Millisecond) // the greylist delay, not a timing assertion
	if err := b.send("news@grey.example", []string{"bob@example.net"}, grey); err != nil {
		t.Fatalf("retry on B after the delay: %v", err)
	}

	// Two failed logins on A ban the address on B, right password or not.
	for i := 0; i < 2; i++ {
		if err := submitAuth(a.sub, "alice@example.net", "wrong"); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	err = submitAuth(b.sub, "alice@example.net", "password1")
	if code, _ := smtpReply(err); code != 454 {
		t.Fatalf("AUTH on B after the ban on A: %v, want 454", err)
	}
}

func submitAuth(addr, user, pass string) error {
	c, err := gosmtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Auth(plainAuth(user, pass))
}

// TestRedisKilled: with Redis gone, mail still flows (the limits and the
// greylist are temperror, which lets it through) within the client's
// timeout, and the limits count again once Redis is back.
func TestRedisKilled(t *testing.T) {
	srv := redistest.Start(t)
	a := node(t, srv.Addr)
	srv.Stop()
	grey := simpleMessage("news@grey.example", "bob@example.net", "news", "n")
	start := time.Now()
	if err := a.send("news@grey.example", []string{"bob@example.net"}, grey); err != nil {
		t.Fatalf("with Redis down: %v, want the message accepted", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("a message took %s with Redis down", d)
	}
	srv.Restart()
	err := a.send("news@grey.example", []string{"bob@example.net"}, grey)
	if code, _ := smtpReply(err); code != 451 {
		t.Fatalf("after Redis returned: %v, want greylisting again", err)
	}
}
