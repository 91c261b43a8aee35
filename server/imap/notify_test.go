package imap

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/store"
)

// statusOf picks the STATUS line of a mailbox out of untagged lines.
func statusOf(lines []string, mailbox string) string {
	for _, l := range lines {
		if strings.HasPrefix(l, `* STATUS "`+mailbox+`" (`) {
			return l
		}
	}
	return ""
}

func expectStatus(t *testing.T, lines []string, mailbox, pattern string) {
	t.Helper()
	got := statusOf(lines, mailbox)
	if !regexp.MustCompile(`^\* STATUS "` + regexp.QuoteMeta(mailbox) + `" \(` + pattern + `\)$`).MatchString(got) {
		t.Errorf("STATUS of %s: got %q in %q, want (%s)", mailbox, got, lines, pattern)
	}
}

// TestNotifyStatusOfOtherMailboxes: under NOTIFY SET STATUS (personal
// ...), the client gets the STATUS of every mailbox but the selected one
// at once, then one STATUS per change another session makes (a new
// message, a flag change, an expunge) with the items RFC 5465 gives each
// event; NOTIFY NONE stops them.
func TestNotifyStatusOfOtherMailboxes(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	seed(t, ts.store, user)
	a := dialRawTLS(t, ts, user)
	b := dialRawTLS(t, ts, user)
	if _, got := a.session(t, "s", "SELECT INBOX"); !strings.HasPrefix(got, "s OK") {
		t.Fatal(got)
	}
	lines, got := a.session(t, "n1", "NOTIFY SET STATUS (personal (MessageNew MessageExpunge FlagChange))")
	if !strings.HasPrefix(got, "n1 OK") {
		t.Fatalf("NOTIFY SET: %s", got)
	}
	if s := statusOf(lines, "INBOX"); s != "" {
		t.Errorf("STATUS of the selected mailbox: %s", s)
	}
	expectStatus(t, lines, "Archive", `MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+ HIGHESTMODSEQ 1`)
	expectStatus(t, lines, "Sent", `MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+ HIGHESTMODSEQ 1`)

	msg := "Subject: note\r\n\r\nkeep this\r\n"
	if _, got := b.session(t, "b1", fmt.Sprintf("APPEND Archive {%d+}\r\n%s", len(msg), msg)); !strings.HasPrefix(got, "b1 OK") {
		t.Fatal(got)
	}
	lines, _ = a.session(t, "a1", "NOOP")
	expectStatus(t, lines, "Archive", `MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ HIGHESTMODSEQ \d+`)
	if len(lines) != 1 {
		t.Errorf("one APPEND elsewhere gave %q", lines)
	}
	lines, _ = a.session(t, "a2", "NOOP")
	if len(lines) != 0 {
		t.Errorf("a second NOOP repeats: %q", lines)
	}

	b.session(t, "b2", "SELECT Archive")
	b.session(t, "b3", `STORE 1 +FLAGS (\Seen)`)
	lines, _ = a.session(t, "a3", "NOOP")
	expectStatus(t, lines, "Archive", `UIDVALIDITY \d+ HIGHESTMODSEQ \d+`)

	b.session(t, "b4", `STORE 1 +FLAGS (\Deleted)`)
	b.session(t, "b5", "EXPUNGE")
	lines, _ = a.session(t, "a4", "NOOP")
	expectStatus(t, lines, "Archive", `MESSAGES 0 UIDVALIDITY \d+ HIGHESTMODSEQ \d+`)

	// Deliveries to the selected mailbox come as usual, not as STATUS.
	if err := ts.store.Deliver(user, "INBOX", []byte(msgFirst), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	lines, _ = a.session(t, "a5", "NOOP")
	if !hasLine(lines, "* 4 EXISTS") || statusOf(lines, "INBOX") != "" {
		t.Errorf("delivery to the selected INBOX: %q", lines)
	}

	if _, got := a.session(t, "n2", "NOTIFY NONE"); !strings.HasPrefix(got, "n2 OK") {
		t.Fatal(got)
	}
	b.session(t, "b6", fmt.Sprintf("APPEND Archive {%d+}\r\n%s", len(msg), msg))
	if lines, _ = a.session(t, "a6", "NOOP"); len(lines) != 0 {
		t.Errorf("after NOTIFY NONE: %q", lines)
	}
}

// TestNotifyIdle: while idling under NOTIFY, a message delivered over
// SMTP to another mailbox arrives as STATUS without any command, and one
// delivered to the selected mailbox as EXISTS followed by the FETCH
// MessageNew asked for.
func TestNotifyIdle(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	seed(t, ts.store, user)
	a := dialRawTLS(t, ts, user)
	a.session(t, "s", "SELECT INBOX")
	_, got := a.session(t, "n", "NOTIFY SET (selected (MessageNew (UID ENVELOPE) MessageExpunge)) "+
		"(mailboxes Junk (MessageNew MessageExpunge))")
	if !strings.HasPrefix(got, "n OK") {
		t.Fatalf("NOTIFY SET: %s", got)
	}
	fmt.Fprintf(a.c, "i IDLE\r\n")
	if l := a.line(t); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %s", l)
	}
	if err := ts.store.Deliver(user, store.Junk, []byte(msgSecond), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if l := a.line(t); !regexp.MustCompile(`^\* STATUS "Junk" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+\)$`).MatchString(l) {
		t.Errorf("delivery to Junk while idling: %q", l)
	}

	sc := dialSMTP(t, ts.startMX(t))
	if err := sc.SendMail("dave@example.net", []string{user}, strings.NewReader(msgFirst)); err != nil {
		t.Fatal(err)
	}
	sc.Close()
	if l := a.line(t); l != "* 4 EXISTS" {
		t.Errorf("after SMTP: %q, want * 4 EXISTS", l)
	}
	if l := a.line(t); l != "* 4 RECENT" {
		t.Errorf("after SMTP: %q, want * 4 RECENT", l)
	}
	l := a.line(t)
	if !strings.HasPrefix(l, "* 4 FETCH (UID 4 ENVELOPE (") || !strings.Contains(l, `"first message"`) {
		t.Errorf("MessageNew fetch: %q", l)
	}
	fmt.Fprintf(a.c, "DONE\r\n")
	if l := a.line(t); !strings.HasPrefix(l, "i OK") {
		t.Fatalf("DONE: %q", l)
	}
	// The FETCH did not set \Seen: MessageNew's BODY is a peek.
	lines, _ := a.session(t, "f", "FETCH 4 FLAGS")
	if len(lines) != 1 || strings.Contains(lines[0], `\Seen`) {
		t.Errorf("flags after the notification: %q", lines)
	}
}

// TestNotifyMailboxEvents: MailboxName and SubscriptionChange come as
// LIST responses (RFC 5465 sections 5.4, 5.5) for what another session
// does, a renamed mailbox with its OLDNAME; a mailbox created after
// NOTIFY SET is watched for messages too.
func TestNotifyMailboxEvents(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	a := dialRawTLS(t, ts, user)
	b := dialRawTLS(t, ts, user)
	_, got := a.session(t, "n", "NOTIFY SET (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))")
	if !strings.HasPrefix(got, "n OK") {
		t.Fatalf("NOTIFY SET: %s", got)
	}
	b.session(t, "b1", "CREATE Projects.2026")
	lines, _ := a.session(t, "a1", "NOOP")
	if want := []string{`* LIST () "." "Projects"`, `* LIST () "." "Projects.2026"`}; strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("after CREATE: %q, want %q", lines, want)
	}
	b.session(t, "b2", "RENAME Projects.2026 Projects.2027")
	lines, _ = a.session(t, "a2", "NOOP")
	if want := `* LIST () "." "Projects.2027" (OLDNAME ("Projects.2026"))`; !hasLine(lines, want) {
		t.Errorf("after RENAME: %q, want %q", lines, want)
	}
	b.session(t, "b3", "SUBSCRIBE Projects.2027")
	b.session(t, "b4", "UNSUBSCRIBE Projects.2027")
	lines, _ = a.session(t, "a3", "NOOP")
	if want := []string{`* LIST (\Subscribed) "." "Projects.2027"`, `* LIST () "." "Projects.2027"`}; strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("after SUBSCRIBE, UNSUBSCRIBE: %q, want %q", lines, want)
	}
	msg := "Subject: plan\r\n\r\nplan\r\n"
	b.session(t, "b5", fmt.Sprintf("APPEND Projects.2027 {%d+}\r\n%s", len(msg), msg))
	lines, _ = a.session(t, "a4", "NOOP")
	expectStatus(t, lines, "Projects.2027", `MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+`)
	b.session(t, "b6", "DELETE Projects.2027")
	lines, _ = a.session(t, "a5", "NOOP")
	if want := `* LIST (\NonExistent) "." "Projects.2027"`; !hasLine(lines, want) {
		t.Errorf("after DELETE: %q, want %q", lines, want)
	}
	// The session's own changes are not echoed back to it.
	a.session(t, "a6", "CREATE Mine")
	if lines, _ = a.session(t, "a7", "NOOP"); len(lines) != 0 {
		t.Errorf("own CREATE echoed: %q", lines)
	}
}

// TestNotifyRefused: the answers to a NOTIFY the server cannot or will
// not honour, each leaving the session usable.
func TestNotifyRefused(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	a := dialRawTLS(t, ts, "alice@example.org")
	for _, tc := range []struct{ cmd, want string }{
		{"NOTIFY SET (personal (AnnotationChange))", `NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)]`},
		{"NOTIFY SET (personal (NoSuchEvent))", `NO [BADEVENT (`},
		{"NOTIFY SET (selected (MessageNew))", "BAD"},
		{"NOTIFY SET (selected (FlagChange))", "BAD"},
		{"NOTIFY SET (selected (MailboxName))", "BAD"},
		{"NOTIFY SET (personal (MessageNew (UID) MessageExpunge))", "BAD"},
		{"NOTIFY SET (selected NONE) (selected-delayed NONE)", "BAD"},
		{"NOTIFY SET (everything (MessageNew))", "BAD"},
		{"NOTIFY SET (personal ())", "BAD"},
		{"NOTIFY SET (mailboxes () (MessageNew))", "BAD"},
		{"NOTIFY SET", "BAD"},
		{"NOTIFY SET STATUS", "BAD"},
		{"NOTIFY GET", "BAD"},
		{"NOTIFY NONE extra", "BAD"},
		{"NOTIFY SET (personal NONE)", "OK"},
		{"NOTIFY SET (selected-delayed (MessageNew (FLAGS BODY[HEADER]) MessageExpunge FlagChange)) (subtree INBOX (MessageNew MessageExpunge))", "OK"},
	} {
		_, got := a.session(t, "t", tc.cmd)
		if !strings.HasPrefix(got, "t "+tc.want) {
			t.Errorf("%s: %s, want %s", tc.cmd, got, tc.want)
		}
	}
	if _, got := a.session(t, "z", "NOOP"); got != "z OK NOOP completed" {
		t.Errorf("session after the refusals: %s", got)
	}
}

// TestImaplibNotify: Python's imaplib sends NOTIFY SET and NOTIFY NONE
// raw and sees what RFC 5465 promises: the initial STATUS, STATUS after
// another session's APPEND, EXISTS and FETCH for a message delivered over
// SMTP to the selected INBOX, LIST for a mailbox created elsewhere, a
// STATUS while idling (testdata/imaplib_notify.py).
func TestImaplibNotify(t *testing.T) {
	python := needTool(t, "python3")
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	smtpAddr := ts.startMX(t)
	host, port, _ := strings.Cut(ts.tls, ":")
	_, smtpPort, _ := strings.Cut(smtpAddr, ":")
	out, err := exec.Command(python, "testdata/imaplib_notify.py", host, port, ts.caFile, user, testUsers[user], smtpPort).CombinedOutput()
	t.Logf("imaplib:\n%s", out)
	if err != nil {
		t.Fatalf("imaplib NOTIFY: %v", err)
	}
	if n := strings.Count(string(out), "ok "); n != 7 {
		t.Errorf("%d steps passed, want 7", n)
	}
}

// TestNotifyOverflow: when more mailbox events pile up than a session
// may hold (it never polled), it gets one untagged OK
// [NOTIFICATIONOVERFLOW] and then no notifications until its next NOTIFY
// (RFC 5465 section 5.8).
func TestNotifyOverflow(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	a := dialRawTLS(t, ts, user)
	b := dialRawTLS(t, ts, user)
	if _, got := a.session(t, "n", "NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))"); !strings.HasPrefix(got, "n OK") {
		t.Fatal(got)
	}
	// As many events as a burst of other sessions' CREATEs would make.
	evs := make([]mailboxEvent, maxQueuedEvents+1)
	for i := range evs {
		evs[i] = mailboxEvent{kind: mailboxCreated, name: fmt.Sprintf("Box%d", i)}
	}
	ts.srv.events.publish(user, nil, evs...)
	lines, _ := a.session(t, "a1", "NOOP")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "* OK [NOTIFICATIONOVERFLOW]") {
		t.Fatalf("after the overflow: %q", lines)
	}
	b.session(t, "b1", "CREATE Later")
	msg := "Subject: x\r\n\r\nx\r\n"
	b.session(t, "b2", fmt.Sprintf("APPEND Archive {%d+}\r\n%s", len(msg), msg))
	if lines, _ = a.session(t, "a2", "NOOP"); len(lines) != 0 {
		t.Errorf("notifications after the overflow: %q", lines)
	}
	a.session(t, "n2", "NOTIFY SET (personal (MessageNew MessageExpunge))")
	b.session(t, "b3", fmt.Sprintf("APPEND Archive {%d+}\r\n%s", len(msg), msg))
	lines, _ = a.session(t, "a3", "NOOP")
	expectStatus(t, lines, "Archive", `MESSAGES 2 UIDNEXT 3 UIDVALIDITY \d+`)
}
