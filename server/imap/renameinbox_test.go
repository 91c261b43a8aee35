package imap

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRenameInbox: RENAME INBOX moves its messages, flags and keywords
// with them, to a new mailbox and leaves INBOX empty and usable (RFC 3501
// section 6.3.5); a session watching INBOX hears the messages go.
func TestRenameInbox(t *testing.T) {
	ts := condstoreBox(t, 2)
	a := dialRawTLS(t, ts, "alice@example.org")
	watcher := dialRawTLS(t, ts, "alice@example.org")
	watcher.ok(t, "s", "SELECT INBOX")
	a.ok(t, "s", "SELECT INBOX")
	a.ok(t, "f", `STORE 2 +FLAGS (\Seen $Work)`)
	a.ok(t, "u", "UNSELECT")

	a.ok(t, "r", "RENAME INBOX Old-Inbox")
	if got := a.ok(t, "st", "STATUS INBOX (MESSAGES)"); !slices.Contains(got, "* STATUS INBOX (MESSAGES 0)") {
		t.Errorf("INBOX after RENAME: %q, want empty", got)
	}
	got := a.ok(t, "s2", "SELECT Old-Inbox")
	if !slices.Contains(got, "* 2 EXISTS") {
		t.Errorf("SELECT Old-Inbox: %q, want 2 EXISTS", got)
	}
	flags := strings.Join(a.ok(t, "f2", "FETCH 2 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"), " ")
	if !strings.Contains(flags, `\Seen`) || !strings.Contains(flags, "$Work") || !strings.Contains(flags, "Subject: m2") {
		t.Errorf("moved message: %q, want \\Seen, $Work and its subject", flags)
	}
	if expunged := strings.Count(strings.Join(watcher.ok(t, "n", "NOOP"), " "), "EXPUNGE"); expunged != 2 {
		t.Errorf("the session on INBOX heard %d EXPUNGEs, want 2", expunged)
	}
	if _, status := a.session(t, "r2", "RENAME INBOX Old-Inbox"); !strings.HasPrefix(status, "r2 NO") {
		t.Errorf("RENAME INBOX onto an existing mailbox: %s, want NO", status)
	}
	if err := ts.store.Deliver("alice@example.org", "INBOX", []byte("Subject: new\r\n\r\nx\r\n"), "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := a.ok(t, "st2", "STATUS INBOX (MESSAGES)"); !slices.Contains(got, "* STATUS INBOX (MESSAGES 1)") {
		t.Errorf("INBOX after new mail: %q", got)
	}
}
