package store

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// TestDovecotReads: Dovecot's own IMAP server, run pre-authenticated on
// the store's Maildir (as after a migration to or from Dovecot), lists
// every folder and reads every message with its flags and size.
func TestDovecotReads(t *testing.T) {
	imapd := needTool(t, "/usr/lib/dovecot/imap")
	s, data := openTest(t, Options{Hostname: "testhost"})
	const user = "grace@example.org"
	msgs := map[string]struct{ mailbox, flags string }{
		"plain new":  {"INBOX", ""},
		"read":       {"INBOX", "S"},
		"in a list":  {"Lists.Go", "FR"},
		"a draft":    {"Entwürfe", "DS"},
		"thrown out": {"Trash", "ST"},
	}
	for subj, m := range msgs {
		raw := "From: someone@example.net\r\nSubject: " + subj + "\r\n\r\nbody\r\n"
		if err := s.Deliver(user, m.mailbox, []byte(raw), m.flags, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	home := filepath.Join(data, "mail", "example.org", "grace")
	// Dovecot refuses to run as root: hand the tree to nobody when we are.
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		uid, gid = 65534, 65534
		os.Chmod(filepath.Dir(data), 0o755) // the test's own temporary directory
		filepath.Walk(data, func(p string, _ os.FileInfo, _ error) error { return os.Chown(p, uid, gid) })
	}
	conf := filepath.Join(t.TempDir(), "dovecot.conf")
	run := filepath.Join(filepath.Dir(conf), "run")
	os.MkdirAll(run, 0o755)
	os.WriteFile(conf, []byte(fmt.Sprintf(`base_dir = %s
state_dir = %s
log_path = /dev/stderr
first_valid_uid = 0
first_valid_gid = 0
protocols =
mail_location = maildir:~:INDEX=MEMORY
mail_uid = %d
mail_gid = %d
ssl = no
`, run, run, uid, gid)), 0o644)
	script := "a LIST \"\" \"*\"\r\n"
	for i, box := range []string{"INBOX", "Lists.Go", "Entw&APw-rfe", "Trash"} {
		script += fmt.Sprintf("s%d SELECT \"%s\"\r\nf%d FETCH 1:* (FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n", i, box, i)
	}
	script += "z LOGOUT\r\n"
	cmd := exec.Command(imapd, "-c", conf)
	cmd.Env = []string{"USER=" + user, "HOME=" + home}
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err != nil || strings.Contains(text, "Error") || strings.Contains(text, "BYE FETCH") {
		t.Fatalf("dovecot: %v\n%s", err, text)
	}
	for _, want := range []string{`"." INBOX`, `"." Lists.Go`, `"." Entw&APw-rfe`, `"." Trash`} {
		if !strings.Contains(text, want) {
			t.Errorf("dovecot LIST lacks %s", want)
		}
	}
	// Each message once, with its flags (\Recent is Dovecot's own) and
	// its exact size.
	fetch := regexp.MustCompile(`FETCH \(FLAGS \(([^)]*)\) RFC822.SIZE (\d+) BODY\[HEADER.FIELDS \(SUBJECT\)\] \{\d+\}\r?\nSubject: ([^\r\n]*)`)
	seen := map[string]bool{}
	for _, m := range fetch.FindAllStringSubmatch(text, -1) {
		subj := m[3]
		want, ok := msgs[subj]
		if !ok || seen[subj] {
			t.Errorf("unexpected or repeated message %q", subj)
			continue
		}
		seen[subj] = true
		var letters []string
		for _, f := range strings.Fields(m[1]) {
			if f != `\Recent` {
				letters = append(letters, string(LetterOf(f)))
			}
		}
		if got := CleanFlags(strings.Join(letters, "")); got != want.flags {
			t.Errorf("%q: dovecot sees flags %q, want %q", subj, m[1], want.flags)
		}
		if size := fmt.Sprint(46 + len(subj)); m[2] != size {
			t.Errorf("%q: dovecot size %s, want %s", subj, m[2], size)
		}
	}
	if len(seen) != len(msgs) {
		t.Errorf("dovecot read %d of %d messages", len(seen), len(msgs))
	}
	if t.Failed() {
		t.Logf("dovecot session:\n%s", text)
	}
}
