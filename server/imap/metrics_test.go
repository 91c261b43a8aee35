package imap

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sluicemail/sluice/server/store"
)

// TestMetricsCountSessionsAndCommands: a real client session (go-imap's
// client over TLS) and a raw one moves the counters: commands by name and
// OK/NO/BAD, an unknown command under "unknown" (not its own label), the
// open connections, the sessions by outcome and the logins by result.
func TestMetricsCountSessionsAndCommands(t *testing.T) {
	ts := newTestServer(t, Options{MaxLoginFailures: 2}, store.Options{})
	const user = "alice@example.org"
	seed(t, ts.store, user)
	m := ts.srv.Metrics()
	count := func(cmd, status string) float64 {
		return testutil.ToFloat64(m.commands.WithLabelValues(cmd, status))
	}
	open := func() int64 { return m.open.Load() }

	c := ts.login(t, user, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{UID: true, Flags: true}).Collect(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("No such box", nil).Wait(); err == nil {
		t.Fatal("SELECT of a missing mailbox succeeded")
	}
	if got := open(); got != 1 {
		t.Errorf("sluice_imap_connections = %d with one client, want 1", got)
	}

	// A raw session: an unknown command (BAD) and a wrong password (NO).
	rc := dialRawTLS(t, ts, "bob@example.org")
	if got := rc.cmd(t, "x", "XYZZY-"+strings.Repeat("A", 20)); !strings.HasPrefix(got, "x BAD") {
		t.Fatalf("unknown command: %s", got)
	}
	if got := open(); got != 2 {
		t.Errorf("sluice_imap_connections = %d with two clients, want 2", got)
	}
	// Wrong passwords until the limiter refuses.
	bad, err := imapclient.DialTLS(ts.tls, &imapclient.Options{TLSConfig: ts.clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := bad.Login(user, "wrong").Wait(); err == nil {
			t.Fatal("a wrong password logged in")
		}
	}
	bad.Close()

	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	rc.c.Close()

	// Sessions end after the connection closes: wait for the server.
	deadline := time.Now().Add(10 * time.Second)
	for open() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := open(); got != 0 {
		t.Errorf("sluice_imap_connections = %d after every client left, want 0", got)
	}
	for _, w := range []struct {
		cmd, status string
		want        float64
	}{
		{"LOGIN", "ok", 2}, // the client and the raw session
		{"LOGIN", "no", 3}, // two wrong passwords, then the limiter's refusal
		{"SELECT", "ok", 1},
		{"SELECT", "no", 1},
		{"FETCH", "ok", 1},
		{"LOGOUT", "ok", 1},
		{"unknown", "bad", 1},
	} {
		if got := count(w.cmd, w.status); got != w.want {
			t.Errorf("sluice_imap_commands_total{command=%q,status=%q} = %v, want %v", w.cmd, w.status, got, w.want)
		}
	}
	for _, w := range []struct {
		result string
		want   float64
	}{{loginOK, 2}, {loginFailed, 2}, {loginRefused, 1}} {
		if got := testutil.ToFloat64(m.auth.WithLabelValues(w.result)); got != w.want {
			t.Errorf("sluice_imap_logins_total{result=%q} = %v, want %v", w.result, got, w.want)
		}
	}
	if got := testutil.ToFloat64(m.sessions.WithLabelValues("authenticated")); got != 2 {
		t.Errorf("authenticated sessions = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.sessions.WithLabelValues("unauthenticated")); got != 1 {
		t.Errorf("unauthenticated sessions = %v, want 1", got)
	}
	// The label set stays bounded: the unknown command's name is nowhere.
	if n := testutil.CollectAndCount(m, "sluice_imap_commands_total"); n != 7 {
		t.Errorf("%d command series, want 7", n)
	}
	if problems, err := testutil.CollectAndLint(m); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// TestMetricsCountedBeforeTheReply: a command is counted before its tagged
// reply is written, also for the commands whose handler writes its own OK
// (LOGIN, SELECT, EXAMINE, APPEND, COPY). A client that reads the reply
// and then scrapes /metrics must find the command there; counting after
// the reply made the serve test flaky in CI. Each command is repeated so
// that the race, were it back, shows within one run.
func TestMetricsCountedBeforeTheReply(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	seed(t, ts.store, user)
	m := ts.srv.Metrics()
	count := func(cmd string) float64 { return testutil.ToFloat64(m.commands.WithLabelValues(cmd, "ok")) }

	rc := dialRawTLS(t, ts, user)
	if got := count("LOGIN"); got != 1 {
		t.Fatalf("LOGIN counted %v times when its OK arrived, want 1", got)
	}
	const msg = "Subject: counted\r\n\r\nbody\r\n"
	for i := 1; i <= 50; i++ {
		for _, c := range []struct{ cmd, text string }{
			{"SELECT", "SELECT INBOX"},
			{"EXAMINE", "EXAMINE INBOX"},
			{"COPY", "COPY 1 INBOX"},
		} {
			if got := rc.cmd(t, "c", c.text); !strings.HasPrefix(got, "c OK") {
				t.Fatalf("%s: %s", c.text, got)
			}
			if got := count(c.cmd); got != float64(i) {
				t.Fatalf("%s counted %v times when its reply %d arrived, want %d", c.cmd, got, i, i)
			}
		}
		fmt.Fprintf(rc.c, "a APPEND INBOX {%d+}\r\n%s\r\n", len(msg), msg)
		for {
			if l := rc.line(t); strings.HasPrefix(l, "a ") {
				if !strings.HasPrefix(l, "a OK") {
					t.Fatalf("APPEND: %s", l)
				}
				break
			}
		}
		if got := count("APPEND"); got != float64(i) {
			t.Fatalf("APPEND counted %v times when its reply %d arrived, want %d", got, i, i)
		}
	}
}
