package imap

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/store"
)

// TestMbsync syncs a user's mailboxes to a local Maildir with mbsync
// (isync) and back: flags changed on either side reach the other, a
// message written locally is uploaded, one expunged on the server
// disappears locally.
func TestMbsync(t *testing.T) {
	mbsync := needTool(t, "mbsync")
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	seed(t, ts.store, user)
	if err := ts.store.Deliver(user, "Archive", []byte(msgMultipart), "S", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := ts.store.Deliver(user, "Lists.Go", []byte(msgSecond), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	os.MkdirAll(filepath.Join(local, "mail"), 0o700)
	_, port, _ := strings.Cut(ts.tls, ":")
	cfg := filepath.Join(local, "mbsyncrc")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`IMAPAccount sluice
Host localhost
Port %s
User %s
Pass %s
SSLType IMAPS
CertificateFile %s

IMAPStore remote
Account sluice

MaildirStore local
Path %s/mail/
Inbox %s/mail/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
`, port, user, testUsers[user], ts.caFile, local, local)), 0o600)
	sync := func() {
		t.Helper()
		out, err := exec.Command(mbsync, "-c", cfg, "-a").CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync: %v\n%s", err, out)
		}
	}
	sync()

	// Every mailbox arrived, with its messages and flags.
	inbox := localMessages(t, filepath.Join(local, "mail", "INBOX"))
	if len(inbox) != 3 || inbox["first message"] != "" {
		t.Fatalf("local INBOX after first sync: %v", inbox)
	}
	if arch := localMessages(t, filepath.Join(local, "mail", "Archive")); arch["with attachment"] != "S" {
		t.Fatalf("local Archive: %v", arch)
	}
	for _, m := range []string{"Sent", "Drafts", "Junk", "Trash"} {
		if _, err := os.Stat(filepath.Join(local, "mail", m, "cur")); err != nil {
			t.Errorf("mailbox %s not synced: %v", m, err)
		}
	}

	if got := localMessages(t, filepath.Join(local, "mail", "Lists", "Go")); len(got) != 1 {
		t.Errorf("sub-folder Lists.Go not synced as Lists/Go: %v", got)
	}

	// Local changes: flag a message, write one into Sent, make a folder.
	os.MkdirAll(filepath.Join(local, "mail", "Projects", "Local", "cur"), 0o700)
	for _, d := range []string{"new", "tmp"} {
		os.MkdirAll(filepath.Join(local, "mail", "Projects", "Local", d), 0o700)
	}
	os.WriteFile(filepath.Join(local, "mail", "Projects", "Local", "cur", "1700000001.local2.host:2,"),
		[]byte("Subject: in a new folder\r\n\r\nx\r\n"), 0o600)
	setLocalFlags(t, filepath.Join(local, "mail", "INBOX"), "first message", "FS")
	os.WriteFile(filepath.Join(local, "mail", "Sent", "cur", "1700000000.local1.host:2,S"),
		[]byte("From: alice@example.org\r\nTo: x@example.net\r\nSubject: written offline\r\n\r\nhi\r\n"), 0o600)
	// Server changes: a flag, and an expunge.
	a, _ := ts.store.Account(user)
	in, _ := a.Mailbox("INBOX")
	if err := in.SetFlags([]uint32{2}, '+', []string{`\Answered`, `\Seen`}, nil); err != nil {
		t.Fatal(err)
	}
	in.SetFlags([]uint32{3}, '+', []string{`\Deleted`}, nil)
	if _, err := in.Expunge(nil); err != nil {
		t.Fatal(err)
	}
	sync()

	server := map[string]string{}
	in.View(func(msgs []*store.Message) error {
		for _, m := range msgs {
			server[m.Envelope().Subject] = m.Flags
		}
		return nil
	})
	if server["first message"] != "FS" {
		t.Errorf("local flags did not reach the server: %v", server)
	}
	sent, _ := a.Mailbox("Sent")
	sent.Sync(true)
	var uploaded bool
	sent.View(func(msgs []*store.Message) error {
		for _, m := range msgs {
			uploaded = uploaded || m.Envelope().Subject == "written offline" && m.Flags == "S"
		}
		return nil
	})
	if !uploaded {
		t.Error("message written locally was not uploaded to Sent")
	}
	if pl, err := a.Mailbox("Projects.Local"); err != nil {
		t.Errorf("folder made locally not created on the server: %v", err)
	} else if st, _ := pl.Status(); st.Messages != 1 {
		t.Errorf("Projects.Local has %d messages, want 1", st.Messages)
	}
	inbox = localMessages(t, filepath.Join(local, "mail", "INBOX"))
	if inbox["second message"] != "RS" {
		t.Errorf("server flags did not reach the local copy: %v", inbox)
	}
	if _, ok := inbox["with attachment"]; ok {
		t.Errorf("message expunged on the server is still local: %v", inbox)
	}
	// A second sync in a row changes nothing.
	sync()
	if again := localMessages(t, filepath.Join(local, "mail", "INBOX")); fmt.Sprint(again) != fmt.Sprint(inbox) {
		t.Errorf("idempotent sync changed the local copy: %v -> %v", inbox, again)
	}
}

// localMessages maps the subject of each message in a local Maildir
// folder to its flags.
func localMessages(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, sub := range []string{"cur", "new"} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range entries {
			raw, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			_, flags, _ := strings.Cut(e.Name(), ":2,")
			out[subjectOf(string(raw))] = flags
		}
	}
	return out
}

func subjectOf(raw string) string {
	for _, l := range strings.Split(raw, "\n") {
		if s, ok := strings.CutPrefix(strings.TrimRight(l, "\r"), "Subject: "); ok {
			return s
		}
	}
	return ""
}

func setLocalFlags(t *testing.T, dir, subject, flags string) {
	t.Helper()
	for _, sub := range []string{"new", "cur"} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range entries {
			p := filepath.Join(dir, sub, e.Name())
			raw, _ := os.ReadFile(p)
			if subjectOf(string(raw)) == subject {
				base, _, _ := strings.Cut(e.Name(), ":2,")
				if err := os.Rename(p, filepath.Join(dir, "cur", base+":2,"+flags)); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
	}
	t.Fatalf("no local message %q", subject)
}
