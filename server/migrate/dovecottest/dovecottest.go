// Package dovecottest runs Dovecot's own IMAP server (Debian's
// dovecot-imapd) for tests of the importers, so that fixtures are made
// and read by the real thing: a Maildir with Dovecot's file names,
// dovecot-uidlist and dovecot-keywords, and an IMAP session to compare
// what sluice shows with what Dovecot shows.
package dovecottest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
)

// Imapd is Dovecot's IMAP binary.
const Imapd = "/usr/lib/dovecot/imap"

// Need skips the test when Dovecot is not installed, and fails it in CI,
// where .ci/run installs it.
func Need(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Imapd); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI (dovecot-imapd): %v", Imapd, err)
		}
		t.Skipf("%s not installed (Debian dovecot-imapd)", Imapd)
	}
}

// owner is who Dovecot runs as: Dovecot refuses root, so as root the
// mail belongs to nobody.
func owner() (uid, gid int) {
	if os.Getuid() == 0 {
		return 65534, 65534
	}
	return os.Getuid(), os.Getgid()
}

// Session starts Dovecot's imap pre-authenticated as user on the Maildir
// home (created if needed) and returns a go-imap client talking to it.
func Session(t testing.TB, home, user string) *imapclient.Client {
	t.Helper()
	return SessionAt(t, home, user, "maildir:~")
}

// SessionAt is Session with Dovecot's mail_location, e.g.
// "mbox:~/mail:INBOX=/var/mail/%u" for an mbox home; the directories it
// names outside home must exist and be the mail user's (Chown).
func SessionAt(t testing.TB, home, user, mailLocation string) *imapclient.Client {
	t.Helper()
	Need(t)
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	uid, gid := owner()
	Chown(t, home)
	for d := filepath.Dir(home); os.Getuid() == 0 && d != "/" && d != "."; d = filepath.Dir(d) {
		os.Chmod(d, 0o755) // nobody must reach home through the test's temporary directories
		if d == os.TempDir() {
			break
		}
	}
	run := t.TempDir()
	os.Chmod(run, 0o755)
	conf := filepath.Join(run, "dovecot.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`base_dir = %s
state_dir = %s
log_path = /dev/stderr
first_valid_uid = 0
first_valid_gid = 0
protocols =
mail_location = %s
mail_uid = %d
mail_gid = %d
ssl = no
`, run, run, mailLocation, uid, gid)), 0o644)
	client, server := net.Pipe()
	cmd := exec.Command(Imapd, "-c", conf)
	cmd.Env = []string{"USER=" + user, "HOME=" + home}
	cmd.Stdin, cmd.Stdout = server, server
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := imapclient.New(client, nil)
	t.Cleanup(func() {
		c.Close()
		server.Close()
		cmd.Wait()
	})
	return c
}

// Chown gives a tree to the user Dovecot runs as (a no-op unless root).
func Chown(t testing.TB, dir string) {
	t.Helper()
	uid, gid := owner()
	if os.Getuid() != 0 {
		return
	}
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, uid, gid) })
}
