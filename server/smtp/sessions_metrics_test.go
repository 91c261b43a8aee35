package smtp

import (
	"io"
	"net"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// rcptRules refuse one recipient by name at RCPT, so that a transaction
// can have a recipient refused and still deliver to another. The rule
// goes first: a verdict is decided at RCPT only when no earlier rule
// waits for the DATA.
var rcptRules = strings.Replace(testRules, "rules:\n", `rules:
  - name: no-bob
    when: '"bob@example.net" in envelope.rcpt'
    action: reject 550 5.7.1 "Not for bob"
`, 1)

// waitClosed reads raw until the server closes it. The server counts the
// session before it closes the TCP connection, so after this the count
// is in; over TLS the close_notify comes earlier, hence the raw socket.
func waitClosed(t *testing.T, raw net.Conn) {
	t.Helper()
	if _, err := io.Copy(io.Discard, raw); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("waiting for the server to close: %v", err)
	}
}

// A session is counted once, when its connection ends, however many
// session objects go-smtp made for it (a second after STARTTLS); a
// transaction once, with the outcome that ended it, however many of its
// recipients the rules refused. Read from the collector as /metrics
// shows it.
func TestSessionsAndTransactionsCountedOnce(t *testing.T) {
	h := newHarness(t, harnessOpts{rules: rcptRules})

	// 1: STARTTLS, then a message to alice with bob refused at RCPT
	// (counted accept, not reject and accept), then a transaction whose
	// two recipients are refused, ended by RSET (one reject).
	c := dialConv(t, h.mx)
	raw := c.conn
	c.expect250("EHLO client.example.org")
	c.startTLS()
	c.expect250("EHLO client.example.org")
	c.expect250("MAIL FROM:<friend@example.org>")
	c.expect250("RCPT TO:<alice@example.net>")
	if r := c.cmd("RCPT TO:<bob@example.net>"); !strings.HasPrefix(r, "550 5.7.1 Not for bob") {
		t.Fatalf("RCPT bob: %q", r)
	}
	if r := c.cmd("DATA"); !strings.HasPrefix(r, "354") {
		t.Fatalf("DATA: %q", r)
	}
	c.expect250(strings.TrimSuffix(simpleMessage("friend@example.org", "alice@example.net", "hello", "hi"), "\r\n") + "\r\n.")
	c.expect250("MAIL FROM:<spammer@bad.example>")
	for _, rcpt := range []string{"alice@example.net", "bob@example.net"} {
		if r := c.cmd("RCPT TO:<%s>", rcpt); !strings.HasPrefix(r, "550") {
			t.Fatalf("RCPT %s from the blocked sender: %q", rcpt, r)
		}
	}
	c.expect250("RSET")
	if r := c.cmd("QUIT"); !strings.HasPrefix(r, "221") {
		t.Fatalf("QUIT: %q", r)
	}
	waitClosed(t, raw)

	// 2: every recipient refused, then QUIT: one reject, counted at the
	// end of the session; the session refused.
	c = dialConv(t, h.mx)
	c.expect250("EHLO client.example.org")
	c.expect250("MAIL FROM:<spammer@bad.example>")
	c.send("RCPT TO:<alice@example.net>\r\n")
	c.expect("550")
	c.cmd("QUIT")
	waitClosed(t, c.conn)

	// 3: EHLO and QUIT: an empty session, no transaction.
	c = dialConv(t, h.mx)
	c.expect250("EHLO client.example.org")
	c.cmd("QUIT")
	waitClosed(t, c.conn)

	// 4: a connection that never says EHLO is a session too.
	c = dialConv(t, h.mx)
	c.cmd("QUIT")
	waitClosed(t, c.conn)

	want := `
# HELP sluice_smtp_sessions_total SMTP sessions (connections) ended, by listener and outcome: accepted (a message was taken), refused (every transaction was refused), empty (no transaction ended), pregreet (dropped for talking before the greeting).
# TYPE sluice_smtp_sessions_total counter
sluice_smtp_sessions_total{listener="smtp",outcome="accepted"} 1
sluice_smtp_sessions_total{listener="smtp",outcome="empty"} 2
sluice_smtp_sessions_total{listener="smtp",outcome="pregreet"} 0
sluice_smtp_sessions_total{listener="smtp",outcome="refused"} 1
sluice_smtp_sessions_total{listener="submission",outcome="accepted"} 0
sluice_smtp_sessions_total{listener="submission",outcome="empty"} 0
sluice_smtp_sessions_total{listener="submission",outcome="pregreet"} 0
sluice_smtp_sessions_total{listener="submission",outcome="refused"} 0
sluice_smtp_sessions_total{listener="submissions",outcome="accepted"} 0
sluice_smtp_sessions_total{listener="submissions",outcome="empty"} 0
sluice_smtp_sessions_total{listener="submissions",outcome="pregreet"} 0
sluice_smtp_sessions_total{listener="submissions",outcome="refused"} 0
# HELP sluice_smtp_transactions_total SMTP transactions by listener and outcome (the action that ended them).
# TYPE sluice_smtp_transactions_total counter
sluice_smtp_transactions_total{listener="smtp",outcome="accept"} 1
sluice_smtp_transactions_total{listener="smtp",outcome="reject"} 2
`
	m := h.srv.Metrics()
	if err := testutil.CollectAndCompare(m, strings.NewReader(want), "sluice_smtp_sessions_total", "sluice_smtp_transactions_total"); err != nil {
		t.Error(err)
	}
	if probs, err := testutil.CollectAndLint(m, "sluice_smtp_sessions_total", "sluice_smtp_transactions_total"); err != nil || len(probs) > 0 {
		t.Errorf("lint: %v %v", err, probs)
	}
	h.mailbox("alice@example.net", "INBOX", 1)
	if n := len(h.messages("bob@example.net", "INBOX")); n != 0 {
		t.Errorf("bob, refused at RCPT, got %d messages", n)
	}
}
