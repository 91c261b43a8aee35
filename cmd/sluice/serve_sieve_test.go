package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/sluicemail/sluice/server/store"
)

// Through the real SMTP listener: the user's script files into folders
// with flags, the rules' junk verdict sends the implicit keep to Junk,
// and the vacation reply goes out once, through the relay.
func TestServeSieveDelivery(t *testing.T) {
	e := newE2E(t, e2eInbound)
	err := e.in.scripts.Install("bob@example.net", "main", `require ["fileinto", "imap4flags", "vacation"];
if header :contains "subject" "report" {
  fileinto :flags ["\\Flagged", "Work"] "Reports";
  stop;
}
vacation :days 1 :subject "Away" "I am away this week.";
`)
	if err != nil {
		t.Fatal(err)
	}
	from := "carol@remote.example"
	for _, subject := range []string{"monthly report", "hello", "hello again", "cheap viagra"} {
		if err := e.send(from, "bob@example.net", subject); err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
	}
	e.mailbox("bob@example.net", "Reports", 1)
	e.mailbox("bob@example.net", "INBOX", 2)
	junk := e.mailbox("bob@example.net", "Junk", 1)
	if !strings.Contains(junk[0], "cheap viagra") {
		t.Errorf("Junk holds the wrong message:\n%s", junk[0])
	}
	acc, err := e.in.store.Account("bob@example.net")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := acc.Mailbox("Reports")
	if err != nil {
		t.Fatal(err)
	}
	mb.Sync(true)
	mb.View(func(msgs []*store.Message) error {
		if len(msgs) != 1 || !slices.Contains(msgs[0].IMAPFlags(), imap.FlagFlagged) || !slices.Contains(msgs[0].IMAPFlags(), imap.Flag("Work")) {
			t.Errorf("Reports flags: %v", msgs[0].IMAPFlags())
		}
		return nil
	})
	replies := e.remoteMessages(1)
	r := replies[0]
	if r.From != "" || len(r.To) != 1 || r.To[0] != from {
		t.Errorf("reply envelope: from <%s> to %v", r.From, r.To)
	}
	for _, want := range []string{"Auto-Submitted: auto-replied", "Subject: Away", "I am away this week."} {
		if !strings.Contains(string(r.Data), want) {
			t.Errorf("reply lacks %q:\n%s", want, r.Data)
		}
	}
	// No second reply shows up later either.
	time.Sleep(300 * time.Millisecond)
	if n := len(e.remote.Messages()); n != 1 {
		t.Errorf("%d replies, want 1 within :days", n)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "data", "mail", "example.net", "bob", ".dovecot.sieve")); err != nil {
		t.Errorf("active script link: %v", err)
	}
}
