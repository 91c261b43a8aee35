package store

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needTool finds an external program, failing in CI and skipping
// elsewhere when it is missing.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// TestPythonMailboxReads: an independent Maildir++ reader (Python's
// mailbox module) finds every folder, message and flag the store wrote,
// including after IMAP-side changes (new to cur, flag renames).
func TestPythonMailboxReads(t *testing.T) {
	python := needTool(t, "python3")
	s, data := openTest(t, Options{Hostname: "testhost"})
	const user = "frank@example.org"
	s.Deliver(user, "INBOX", []byte("Subject: new one\r\n\r\nx\r\n"), "", time.Time{})
	s.Deliver(user, "INBOX", []byte("Subject: read one\r\n\r\nx\r\n"), "S", time.Time{})
	s.Deliver(user, "Lists.Go", []byte("Subject: list\r\n\r\nx\r\n"), "", time.Time{})
	s.Deliver(user, "Entwürfe", []byte("Subject: draft\r\n\r\nx\r\n"), "D", time.Time{})
	a, err := s.Account(user)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := a.Mailbox("Lists.Go")
	if err := m.SetFlags([]uint32{1}, '+', []string{`\Flagged`, `\Seen`, `\Answered`}, nil); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "testdata/read_maildir.py", filepath.Join(data, "mail", "example.org", "frank")).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	want := "Entw&APw-rfe|D|draft\nINBOX|S|read one\nINBOX||new one\nLists.Go|FRS|list"
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("python's mailbox module read:\n%s\nwant:\n%s", got, want)
	}
}
