package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/store"
)

func writeMaildirMsg(t *testing.T, dir, sub, name, subject string, date time.Time) {
	t.Helper()
	for _, d := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
	}
	p := filepath.Join(dir, sub, name)
	// LF line endings, as mutt and mbsync write them.
	raw := "From: someone@example.net\nSubject: " + subject + "\n\nbody of " + subject + "\n"
	if err := os.WriteFile(p, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, date, date)
}

// TestImport copies a Maildir with Maildir++ sub-folders and an mbox into
// a user's mailboxes, keeping flags and dates, and a second run imports
// nothing.
func TestImport(t *testing.T) {
	auth.HashCost = bcrypt.MinCost
	data := t.TempDir()
	accts, err := auth.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := accts.AddUser("alice@example.org", "password1"); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	old := time.Date(2019, 5, 6, 7, 8, 9, 0, time.UTC)
	md := filepath.Join(src, "Maildir")
	writeMaildirMsg(t, md, "cur", "1000.a.host:2,FS", "flagged and seen", old)
	writeMaildirMsg(t, md, "new", "1001.b.host", "brand new", old)
	writeMaildirMsg(t, filepath.Join(md, ".Sent Messages"), "cur", "1002.c.host:2,S", "sent one", old)
	writeMaildirMsg(t, filepath.Join(md, ".Entw&APw-rfe"), "cur", "1003.d.host:2,D", "a draft", old)
	writeMaildirMsg(t, filepath.Join(md, ".Lists.Go"), "cur", "1004.e.host:2,RS", "list mail", old)
	mbox := filepath.Join(src, "old.mbox")
	os.WriteFile(mbox, []byte("From a@example.net Sat Jan  1 10:00:00 2000\nSubject: mbox read\nStatus: RO\nX-Status: A\n\nhello\n>From the mbox\n"+
		"From b@example.net Sun Jan  2 10:00:00 2000\nSubject: mbox unread\n\nbye\n"), 0o600)

	out, stderr, code := runSluice(t, "import", "--user", "Alice@Example.org", "--data", data, "--quiet", md, mbox)
	if code != 0 {
		t.Fatalf("import exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"INBOX                4 imported", "Sent                 1 imported", "Entwürfe             1 imported", "Lists.Go             1 imported"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	got := mailboxes(t, data)
	want := map[string][]string{
		"INBOX":    {"brand new  2019-05-06", "flagged and seen FS 2019-05-06", "mbox read RS 2000-01-01", "mbox unread  2000-01-02"},
		"Sent":     {"sent one S 2019-05-06"},
		"Entwürfe": {"a draft D 2019-05-06"},
		"Lists.Go": {"list mail RS 2019-05-06"},
	}
	for box, w := range want {
		if strings.Join(got[box], "|") != strings.Join(w, "|") {
			t.Errorf("%s: %q, want %q", box, got[box], w)
		}
	}
	if _, err := os.Stat(filepath.Join(data, "mail", "example.org", "alice", ".Entw&APw-rfe", "cur")); err != nil {
		t.Errorf("folder not stored under its Maildir++ name: %v", err)
	}

	out, stderr, code = runSluice(t, "import", "--user", "alice@example.org", "--data", data, "--quiet", md, mbox)
	if code != 0 || !strings.Contains(out, "INBOX                0 imported, 4 already there") {
		t.Fatalf("second import exit %d\n%s\n%s", code, out, stderr)
	}
	if again := mailboxes(t, data); len(again["INBOX"]) != 4 || len(again["Sent"]) != 1 {
		t.Errorf("second import changed the mailboxes: %v", again)
	}

	if _, stderr, code := runSluice(t, "import", "--user", "nobody@example.org", "--data", data, md); code == 0 || !strings.Contains(stderr, "not an account") {
		t.Errorf("import for an unknown user: exit %d, %s", code, stderr)
	}
}

// mailboxes lists "subject flags date" per mailbox, read through the
// store's index as the IMAP server sees it.
func mailboxes(t *testing.T, data string) map[string][]string {
	t.Helper()
	st, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.Account("alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	names, _ := a.List()
	out := map[string][]string{}
	for _, n := range names {
		m, err := a.Mailbox(n)
		if err != nil {
			t.Fatal(err)
		}
		m.View(func(msgs []*store.Message) error {
			for _, msg := range msgs {
				out[n] = append(out[n], msg.Envelope().Subject+" "+msg.Flags+" "+msg.Date().UTC().Format("2006-01-02"))
			}
			return nil
		})
		sort.Strings(out[n])
	}
	return out
}

// FuzzMboxFlags checks the Status/X-Status reader: any input gives sorted
// Maildir letters from the five it maps to.
func FuzzMboxFlags(f *testing.F) {
	f.Add([]byte("Subject: x\nStatus: RO\nX-Status: AF\n\nbody\n"))
	f.Add([]byte("Status: \x00\n"))
	f.Add([]byte("no header"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		flags := mboxFlags(raw)
		if flags != store.CleanFlags(flags) || strings.Trim(flags, "DFRST") != "" {
			t.Fatalf("mboxFlags = %q", flags)
		}
	})
}
