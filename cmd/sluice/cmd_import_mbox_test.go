package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/sluicemail/sluice/server/auth"
)

// TestImportMaildirMboxHome: `import maildir --accounts` reads a home
// kept in Dovecot's mbox layout (~/mail files, INBOX in the spool given
// by --mbox-inbox), and a second run copies nothing.
func TestImportMaildirMboxHome(t *testing.T) {
	auth.HashCost = bcrypt.MinCost
	dir := t.TempDir()
	data, root, spool := filepath.Join(dir, "data"), filepath.Join(dir, "home"), filepath.Join(dir, "spool")
	accts, err := auth.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := accts.AddUser("bob@example.org", "password1"); err != nil {
		t.Fatal(err)
	}
	mbox := "From a@example.net  Mon Jan  6 09:00:00 2020\nX-IMAPbase: 1733400000 0000000002 Projekt\n" +
		"From: a@example.net\nSubject: one\nMessage-ID: <1@example.net>\nStatus: RO\nX-Status: F\nX-Keywords: Projekt\nX-UID: 1\n\nbody\n\n" +
		"From b@example.net  Tue Feb  4 10:00:00 2020\nFrom: b@example.net\nSubject: two\nStatus: O\nX-UID: 2\n\nbody\n"
	os.MkdirAll(filepath.Join(root, "bob", "mail", "Lists"), 0o755)
	os.MkdirAll(spool, 0o755)
	os.WriteFile(filepath.Join(root, "bob", "mail", "Lists", "Go"), []byte(mbox), 0o600)
	os.WriteFile(filepath.Join(spool, "bob"), []byte(mbox), 0o600)
	args := []string{"import", "maildir", "--data", data, root, "--accounts", "--domain", "example.org", "--mbox-inbox", spool, "--quiet"}
	out, errOut, code := runIn(t, "", args...)
	for _, want := range []string{"bob@example.org INBOX                    2 on source: 2 imported", "bob@example.org Lists.Go                 2 on source: 2 imported"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("exit %d, want 0 and %q\n%s\n%s", code, want, out, errOut)
		}
	}
	out, errOut, code = runIn(t, "", args...)
	if code != 0 || !strings.Contains(out, "2 on source: 0 imported, 2 already there") {
		t.Errorf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestImportDovecotMboxFile: the bare `sluice import FILE` recognises an
// mbox Dovecot wrote (X-IMAPbase, X-UID) and splits it by Content-Length,
// so an unquoted "From " line in a body does not cut a message in two;
// the hidden headers are dropped, and a second run copies nothing.
func TestImportDovecotMboxFile(t *testing.T) {
	auth.HashCost = bcrypt.MinCost
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	accts, err := auth.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := accts.AddUser("bob@example.org", "password1"); err != nil {
		t.Fatal(err)
	}
	// As Dovecot 2.3 writes it (see server/migrate's dovecotMbox).
	mbox := "From bob@vm  Sun Jan 05 09:11:12 2020\nFrom: a@example.net\nSubject: first\n" +
		"X-IMAPbase: 1796484551 0000000002 Projekt\nX-UID: 1\nStatus: RO\nX-Status: F\nX-Keywords: Projekt\nContent-Length: 31\n" +
		"\nFrom the body\n\nFrom me as well\n\n" +
		"From bob@vm  Sat Dec 05 15:29:10 2026\nFrom: a@example.net\nSubject: second\nX-UID: 2\nStatus: O\nContent-Length: 6\n\nbody2\n\n"
	file := filepath.Join(dir, "inbox.mbox")
	os.WriteFile(file, []byte(mbox), 0o600)
	args := []string{"import", "--data", data, "--user", "bob@example.org", "--quiet", file}
	out, errOut, code := runIn(t, "", args...)
	if code != 0 || !strings.Contains(out, "INBOX                2 imported, 0 already there, 0 unreadable") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	files, _ := filepath.Glob(filepath.Join(data, "mail", "example.org", "bob", "cur", "*"))
	fresh, _ := filepath.Glob(filepath.Join(data, "mail", "example.org", "bob", "new", "*"))
	files = append(files, fresh...)
	var bodies []string
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		bodies = append(bodies, string(raw))
		if strings.Contains(string(raw), "X-UID") || strings.Contains(string(raw), "Content-Length") {
			t.Errorf("%s kept a hidden header:\n%s", f, raw)
		}
	}
	if len(files) != 2 || !strings.Contains(strings.Join(bodies, "|"), "\nFrom the body\n\nFrom me as well\n") {
		t.Errorf("stored %d messages: %q", len(files), bodies)
	}
	out, errOut, code = runIn(t, "", args...)
	if code != 0 || !strings.Contains(out, "0 imported, 2 already there") {
		t.Errorf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
}
