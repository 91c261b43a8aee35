package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/sluicemail/sluice/server/migrate/dovecottest"
)

// TestImportMaildirAccounts: the disk of a Dovecot server (two users,
// folders with a non-ASCII name, nested and empty ones, flags, keywords,
// dates, all written by Dovecot itself) is imported with `sluice import
// maildir ROOT --accounts` into a data directory whose accounts came from
// Dovecot's passwd-file. Each user then logs in to sluice's IMAP with the
// old password and sees what Dovecot showed, to the UIDVALIDITY and UID.
// A second run beside the running server copies nothing; a message added
// on the old server meanwhile makes exactly one more.
func TestImportMaildirAccounts(t *testing.T) {
	dovecottest.Need(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "vmail")
	makeDovecotRoot(t, root)
	before := map[string]map[string]dovecottest.Mailbox{}
	for user := range dovecotMail {
		before[user] = dovecotSnapshot(t, root, user)
	}
	addPigeonholeScripts(t, root)

	conf := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(filepath.Join(dir, "test.zone"), []byte("$ORIGIN .\n$TTL 300\n"), 0o644)
	os.WriteFile(conf, []byte("hostname: mx.example.org\ndomains: [example.org]\ndata: data\n"+
		"listen: {smtp: \"127.0.0.1:0\", imap: \"127.0.0.1:0\"}\ndns: {zonefile: test.zone}\n"), 0o644)
	passwd, _ := filepath.Abs("../../server/migrate/testdata/passwd")
	if out, errOut, code := runIn(t, "", "import", "accounts", "--config", conf, "--domain", "example.org", passwd); !strings.Contains(out, "6 added") {
		t.Fatalf("import accounts: %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code := runIn(t, "", "import", "maildir", "--config", conf, root, "--accounts")
	if code != 0 {
		t.Fatalf("import maildir: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"alice@example.org INBOX                    3 on source: 3 imported, 0 already there, 0 failed: complete, UIDs handed on",
		"alice@example.org Entwürfe                 1 on source: 1 imported",
		"alice@example.org Leer                     0 on source: 0 imported, 0 already there, 0 failed: complete",
		"bob@example.org Junk                     1 on source: 1 imported",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"alice@example.org Sieve: 1 script files found, active script: dovecot",
		"bob@example.org Sieve: 3 script files found, active script: rules"} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q:\n%s\n%s", want, out, errOut)
		}
	}
	// The imported active scripts are the ones sluice runs: what each
	// would do with a message, in sieve-test's words.
	msgFile := filepath.Join(dir, "from-boss.eml")
	os.WriteFile(msgFile, []byte("From: Boss <boss@example.net>\r\nTo: bob@example.org\r\nList-Id: <golang.example>\r\nSubject: now\r\n\r\nCome.\r\n"), 0o644)
	for user, want := range map[string]string{"alice@example.org": "Lists.Go", "bob@example.org": "Work"} {
		o, e, code := runIn(t, "", "sieve", "test", "--config", conf, "--user", user, msgFile)
		if code != 0 || !strings.Contains(o, want) {
			t.Errorf("sieve test for %s: exit %d, want %s\n%s\n%s", user, code, want, o, e)
		}
	}

	banner, _ := startServe(t, conf)
	addr := bannerAddr(t, banner, "imap")
	sessions := map[string]*imapclient.Client{}
	for user := range dovecotMail {
		sessions[user] = sluiceLogin(t, addr, user+"@example.org", "pw-"+user)
		compareSnapshots(t, user, before[user], snapshotOf(t, sessions[user]), true)
	}

	// Beside the running server: nothing new, nothing copied.
	out, errOut, code = runIn(t, "", "import", "maildir", "--config", conf, root, "--accounts")
	if code != 0 || !strings.Contains(out, "0 messages") || strings.Contains(out, " 1 imported") {
		t.Errorf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
	// One new message on the old server: exactly one more.
	c := dovecottest.Session(t, filepath.Join(root, "example.org", "alice"), "alice@example.org")
	if err := dovecottest.Append(c, "INBOX", fixtureMessage(99, "late"), time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC), imap.FlagFlagged); err != nil {
		t.Fatal(err)
	}
	c.Close()
	out, errOut, code = runIn(t, "", "import", "maildir", "--config", conf, root, "--accounts")
	if code != 0 || !strings.Contains(out, "alice@example.org INBOX                    4 on source: 1 imported, 3 already there") || !strings.Contains(out, "\n1 messages") {
		t.Errorf("run after one new message: exit %d\n%s\n%s", code, out, errOut)
	}
	waitFor(t, func() bool { return len(snapshotOf(t, sessions["alice"])["INBOX"].Messages) == 4 }, "the new message in sluice's INBOX")
	inbox := snapshotOf(t, sessions["alice"])["INBOX"].Messages
	if last := inbox[3]; last.Flags != `\Flagged` || !last.Date.Equal(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("the new message: %+v", last)
	}

	// A user with no account is skipped with a line, and the exit says so.
	os.MkdirAll(filepath.Join(root, "example.org", "zed", "cur"), 0o755)
	if _, errOut, code := runIn(t, "", "import", "maildir", "--config", conf, root, "--accounts"); code != 1 || !strings.Contains(errOut, "zed@example.org: skipped: not an account") {
		t.Errorf("unknown user: exit %d %s", code, errOut)
	}
}
