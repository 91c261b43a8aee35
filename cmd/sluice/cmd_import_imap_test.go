package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/sluicemail/sluice/server/migrate"
	"github.com/sluicemail/sluice/server/migrate/dovecottest"
)

// bigMessage is a 20 MB message, made at test time rather than committed.
func bigMessage() string {
	var b strings.Builder
	b.WriteString("From: photos@example.net\r\nTo: alice@example.org\r\nSubject: the big one\r\nMessage-ID: <big@example.net>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3", 2)[:76] + "\r\n"
	for b.Len() < 20<<20 {
		b.WriteString(line)
	}
	return b.String()
}

// importIMAP runs `sluice import imap` for user with the old password.
func importIMAP(t *testing.T, conf, dovecot, user string, extra ...string) (string, string, int) {
	t.Helper()
	args := append([]string{"import", "imap", "--config", conf, "--from", "imap://" + user + "@example.org@" + dovecot,
		"--user", user + "@example.org", "--password-stdin", "--insecure"}, extra...)
	return runIn(t, "pw-"+user+"\n", args...)
}

// TestImportIMAPFromDovecot is the migration end to end: a real Dovecot
// server on loopback holds three users (bcrypt, SHA512-CRYPT and
// ARGON2ID passwords) with folders (special-use ones, a non-ASCII and a
// nested one, an empty one), flags, keywords, messages without a
// Message-ID and a 20 MB message. Accounts come from Dovecot's
// passwd-file, mail over IMAP. One import is killed halfway and run
// again. Then each user logs in to sluice's IMAP with the old password
// and sees the same folders, counts, flags, keywords, dates and sizes as
// on Dovecot; a message added on the source makes exactly one more.
func TestImportIMAPFromDovecot(t *testing.T) {
	t0 := time.Now()
	step := func(what string) { t.Logf("%6.1fs %s", time.Since(t0).Seconds(), what) }
	dovecottest.Need(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "vmail")
	makeDovecotRoot(t, root)
	c := dovecottest.Session(t, filepath.Join(root, "example.org", "alice"), "alice@example.org")
	if err := dovecottest.Append(c, "INBOX", bigMessage(), time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), imap.FlagSeen); err != nil {
		t.Fatal(err)
	}
	if err := dovecottest.Append(c, "INBOX", fixtureMessage(50, "after the big one"), time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	step("fixture")
	c.Close()
	passwd, _ := filepath.Abs("../../server/migrate/testdata/passwd")
	dovecot := dovecottest.StartServer(t, root, passwd)

	step("conf")
	conf := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(filepath.Join(dir, "test.zone"), []byte("$ORIGIN .\n$TTL 300\n"), 0o644)
	os.WriteFile(conf, []byte("hostname: mx.example.org\ndomains: [example.org]\ndata: data\n"+
		"listen: {smtp: \"127.0.0.1:0\", imap: \"127.0.0.1:0\"}\ndns: {zonefile: test.zone}\n"), 0o644)
	if out, errOut, _ := runIn(t, "", "import", "accounts", "--config", conf, "--domain", "example.org", passwd); !strings.Contains(out, "6 added") {
		t.Fatalf("import accounts:\n%s\n%s", out, errOut)
	}

	step("bob carol")
	for _, user := range []string{"bob", "carol"} {
		out, errOut, code := importIMAP(t, conf, dovecot, user)
		if code != 0 {
			t.Fatalf("import imap %s: exit %d\n%s\n%s", user, code, out, errOut)
		}
	}
	step("killHalfway(t, conf, dovecot)")
	killHalfway(t, conf, dovecot)
	out, errOut, code := importIMAP(t, conf, dovecot, "alice")
	if code != 0 || !strings.Contains(out, "INBOX") || !strings.Contains(out, "already there") {
		t.Fatalf("import imap alice after the kill: exit %d\n%s\n%s", code, out, errOut)
	}

	step("banner, _ := startServe")
	banner, _ := startServe(t, conf)
	addr := bannerAddr(t, banner, "imap")
	sessions := map[string]*imapclient.Client{}
	for _, user := range []string{"alice", "bob", "carol"} {
		sessions[user] = sluiceLogin(t, addr, user+"@example.org", "pw-"+user)
		compareSnapshots(t, user, dovecotSnapshot(t, root, user), snapshotOf(t, sessions[user]), false)
	}
	step("if sent := sluice")
	if sent := snapshotOf(t, sessions["carol"])["Sent"]; len(sent.Messages) != 1 {
		t.Errorf("carol's \\Sent folder (\"Sent Messages\" on Dovecot) is not sluice's Sent: %+v", sent)
	}

	step("// One new message")
	// One new message on the source, imported beside the running server.
	c = dovecottest.Session(t, filepath.Join(root, "example.org", "alice"), "alice@example.org")
	if err := dovecottest.Append(c, "Lists.Go", fixtureMessage(77, "one more"), time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC), "$Label1"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	out, errOut, code = importIMAP(t, conf, dovecot, "alice")
	if code != 0 || !strings.Contains(out, "\n1 messages") {
		t.Fatalf("after one new message: exit %d\n%s\n%s", code, out, errOut)
	}
	step("waitFor")
	waitFor(t, func() bool {
		return len(snapshotOf(t, sessions["alice"])["Lists.Go"].Messages) == 2
	}, "the new message in sluice")
	compareSnapshots(t, "alice", dovecotSnapshot(t, root, "alice"), snapshotOf(t, sessions["alice"]), false)

	step("// --verify")
	// --verify compares and copies nothing; it is complete now.
	if out, errOut, code := importIMAP(t, conf, dovecot, "bob", "--verify"); code != 0 || !strings.Contains(out, "\n0 messages") {
		t.Errorf("--verify: exit %d\n%s\n%s", code, out, errOut)
	}
	step("// Bad input")
	// Bad input: each a clear line and exit 1.
	if _, errOut, code := runIn(t, "wrong\n", "import", "imap", "--config", conf, "--from", "imap://bob@example.org@"+dovecot,
		"--user", "bob@example.org", "--password-stdin", "--insecure"); code != 1 || !strings.Contains(errOut, "logging in to") {
		t.Errorf("wrong password: exit %d %s", code, errOut)
	}
	if _, errOut, code := runIn(t, "x\n", "import", "imap", "--config", conf, "--from", "imap://bob@127.0.0.1:1",
		"--user", "bob@example.org", "--password-stdin", "--insecure"); code != 1 || !strings.Contains(errOut, "connecting to 127.0.0.1:1") {
		t.Errorf("unreachable server: exit %d %s", code, errOut)
	}
	if _, errOut, code := runIn(t, "x\n", "import", "imap", "--config", conf, "--from", "imap://bob@"+dovecot,
		"--user", "bob@example.org", "--password-stdin"); code != 1 || !strings.Contains(errOut, "offers no STARTTLS") {
		t.Errorf("clear-text login refused without --insecure: exit %d %s", code, errOut)
	}
	// A folder the source refuses to open (Dovecot cannot read its
	// directory): a line naming it with the server's reason, the other
	// folders still compared, and the exit status says incomplete.
	spam := filepath.Join(root, "example.org", "bob", ".Spam")
	if err := os.Chmod(spam, 0); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = importIMAP(t, conf, dovecot, "bob")
	os.Chmod(spam, 0o700)
	if code != 1 || !regexp.MustCompile(`(?m)^bob@example.org Junk: the source refused to open "Spam": .*NO`).MatchString(errOut) ||
		!regexp.MustCompile(`(?m)^bob@example.org INBOX +2 on source: 0 imported, 2 already there, 0 failed: complete$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^bob@example.org Junk .*INCOMPLETE$`).MatchString(out) || !strings.Contains(out, "\nINCOMPLETE") {
		t.Errorf("a folder the source refuses: exit %d\n%s\n%s", code, out, errOut)
	}
}

// killHalfway starts alice's import and kills it (SIGKILL) once it has
// copied a first message, before it is done with the 20 MB one.
func killHalfway(t *testing.T, conf, dovecot string) {
	t.Helper()
	keys := filepath.Join(filepath.Dir(conf), "data", "mail", "example.org", "alice", migrate.KeyLogFile)
	cmd := exec.Command(sluiceBin(t), "import", "imap", "--config", conf, "--from", "imap://alice@example.org@"+dovecot,
		"--user", "alice@example.org", "--password-stdin", "--insecure")
	cmd.Stdin = strings.NewReader("pw-alice\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case err := <-done:
			t.Fatalf("the import finished (%v) before it could be interrupted:\n%s", err, out.String())
		case <-time.After(2 * time.Millisecond):
		}
		if n := countLines(keys); n >= 1 {
			cmd.Process.Signal(syscall.SIGKILL)
			err := <-done
			if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the import was not killed: %v\n%s", err, out.String())
			}
			t.Logf("killed after %d of alice's messages", countLines(keys))
			return
		}
	}
}

func countLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}
