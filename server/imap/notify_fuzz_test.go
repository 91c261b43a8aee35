package imap

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/store"
)

// FuzzNotify sends the fork's NOTIFY parser arbitrary arguments through a
// real connection with a mailbox selected: every command gets a tagged
// OK, NO or BAD and leaves the connection usable (no panic, no hang, no
// desynchronised stream), and NOTIFY NONE always ends what it set.
func FuzzNotify(f *testing.F) {
	for _, seed := range []string{
		"SET STATUS (personal (MessageNew MessageExpunge FlagChange))",
		"SET (selected (MessageNew (UID BODY[HEADER.FIELDS (Subject)] BINARY.PEEK[1]<0.10>) MessageExpunge FlagChange))",
		"SET (selected-delayed NONE) (subtree (INBOX Archive) (MailboxName SubscriptionChange))",
		"SET (mailboxes \"Sent\" (MessageNew MessageExpunge)) (subscribed (SubscriptionChange)) (inboxes (MessageNew))",
		"SET (personal (AnnotationChange))", "SET (selected (MessageNew (ALL)))", "SET ((", "SET STATUS",
		"NONE", "SET (mailboxes &Jjo-! (MessageNew))", "SET (subtree () (MessageNew))", "",
	} {
		f.Add(seed)
	}
	ts := newTestServer(f, Options{}, store.Options{})
	if err := ts.store.Deliver("alice@example.org", "INBOX", []byte(msgFirst), "", time.Time{}); err != nil {
		f.Fatal(err)
	}
	rc := dialRawTLS(f, ts, "alice@example.org")
	if _, status := rc.session(f, "s", "SELECT INBOX"); !strings.HasPrefix(status, "s OK") {
		f.Fatalf("SELECT: %s", status)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		// A line break or a literal would end or suspend the command
		// rather than exercise the parser.
		if strings.ContainsAny(arg, "\r\n{") {
			return
		}
		rc.c.SetDeadline(time.Now().Add(10 * time.Second))
		_, status := rc.session(t, "f", "NOTIFY "+arg)
		if !strings.HasPrefix(status, "f OK") && !strings.HasPrefix(status, "f NO") && !strings.HasPrefix(status, "f BAD") {
			t.Fatalf("NOTIFY %q: %s", arg, status)
		}
		if _, status := rc.session(t, "n", "NOOP"); !strings.HasPrefix(status, "n OK") {
			t.Fatalf("after NOTIFY %q, NOOP: %s", arg, status)
		}
		if _, status := rc.session(t, "z", "NOTIFY NONE"); !strings.HasPrefix(status, "z OK") {
			t.Fatalf("after NOTIFY %q, NOTIFY NONE: %s", arg, status)
		}
	})
}
