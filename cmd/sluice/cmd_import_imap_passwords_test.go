package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/server/migrate/dovecottest"
)

// TestImportIMAPPasswordsFile copies the three users of the real Dovecot
// fixture (bcrypt, SHA512-CRYPT and ARGON2ID passwords) in one run from
// a --passwords file, two at a time. A fourth line has a wrong password:
// it is one clear line and exit 1 while the three others complete, and
// each of them then sees in sluice's IMAP, logged in with the old
// password, the same folders, counts, flags, keywords and dates as on
// Dovecot. A re-run without the bad line copies nothing and exits 0. A
// passwords file that others may read is refused.
func TestImportIMAPPasswordsFile(t *testing.T) {
	dovecottest.Need(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "vmail")
	makeDovecotRoot(t, root)
	passwd, _ := filepath.Abs("../../server/migrate/testdata/passwd")
	dovecot := dovecottest.StartServer(t, root, passwd)
	conf := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(filepath.Join(dir, "test.zone"), []byte("$ORIGIN .\n$TTL 300\n"), 0o644)
	os.WriteFile(conf, []byte("hostname: mx.example.org\ndomains: [example.org]\ndata: data\n"+
		"listen: {smtp: \"127.0.0.1:0\", imap: \"127.0.0.1:0\"}\ndns: {zonefile: test.zone}\n"), 0o644)
	if out, errOut, _ := runIn(t, "", "import", "accounts", "--config", conf, "--domain", "example.org", passwd); !strings.Contains(out, "6 added") {
		t.Fatalf("import accounts:\n%s\n%s", out, errOut)
	}

	pwFile := filepath.Join(dir, "passwords")
	lines := "# old login         sluice address      password\n" +
		"alice@example.org    alice@example.org   pw-alice\n" +
		"bob@example.org      bob@example.org      pw-bob\n" +
		"carol@example.org    carol@example.org    pw-carol\n" +
		"erin@example.org     erin@example.org     not-erins-password\n"
	os.WriteFile(pwFile, []byte(lines), 0o644)
	importAll := func() (string, string, int) {
		return runIn(t, "", "import", "imap", "--config", conf, "--from", "imap://"+dovecot,
			"--passwords", pwFile, "--jobs", "2", "--insecure")
	}
	if _, errOut, code := importAll(); code != 1 || !strings.Contains(errOut, "chmod 600 "+pwFile) {
		t.Fatalf("a passwords file readable by others: exit %d, want 1 and a line naming chmod 600\n%s", code, errOut)
	}
	os.Chmod(pwFile, 0o600)
	if _, errOut, code := runIn(t, "", "import", "imap", "--config", conf, "--from", "imap://"+dovecot,
		"--passwords", pwFile, "--user", "bob@example.org"); code != 2 {
		t.Errorf("--passwords with --user: exit %d, want 2 (usage)\n%s", code, errOut)
	}
	if _, errOut, code := runIn(t, "", "import", "imap", "--config", conf, "--from", "imap://bob@"+dovecot,
		"--passwords", pwFile, "--insecure"); code != 1 || !strings.Contains(errOut, "name the server only") {
		t.Errorf("--passwords with a user in --from: exit %d\n%s", code, errOut)
	}

	out, errOut, code := importAll()
	if code != 1 || !strings.Contains(errOut, "erin@example.org (line 5): logging in to") ||
		!strings.Contains(out, "3 of 4 users complete") || !strings.Contains(out, "INCOMPLETE: erin@example.org (line 5)\n") {
		t.Fatalf("a wrong password on line 5: exit %d, want 1 with erin named and the three others complete\n%s\n%s", code, out, errOut)
	}
	for _, user := range []string{"alice", "bob", "carol"} {
		if !strings.Contains(out, user+"@example.org: ") || strings.Contains(out, user+"@example.org: INCOMPLETE") {
			t.Errorf("%s's import is not complete:\n%s", user, out)
		}
	}

	banner, _ := startServe(t, conf)
	addr := bannerAddr(t, banner, "imap")
	for _, user := range []string{"alice", "bob", "carol"} {
		c := sluiceLogin(t, addr, user+"@example.org", "pw-"+user)
		compareSnapshots(t, user, dovecotSnapshot(t, root, user), snapshotOf(t, c), false)
		c.Close()
	}

	// Without the bad line a re-run, beside the running server, copies
	// nothing and is complete.
	os.WriteFile(pwFile, []byte(strings.Join(strings.Split(lines, "\n")[:4], "\n")+"\n"), 0o600)
	out, errOut, code = importAll()
	if code != 0 || !strings.Contains(out, "3 of 3 users complete: 0 messages") {
		t.Fatalf("re-run: exit %d, want 0 and 0 messages copied\n%s\n%s", code, out, errOut)
	}
}
