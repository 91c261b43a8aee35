package main

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/server/auth"
	"golang.org/x/crypto/bcrypt"
)

const cliScript = `require ["fileinto", "imap4flags", "vacation", "copy"];
if address :domain "from" "example.org" {
  fileinto :flags "\\Flagged" "Junk";
  redirect :copy "archive@example.net";
}
vacation :days 3 :subject "Away" "Back on Monday.";
`

const cliMessage = "Return-Path: <alice@example.org>\r\nFrom: Alice <alice@example.org>\r\n" +
	"To: bob@example.net\r\nSubject: Hi\r\n\r\nHello.\r\n"

func TestSieveCheck(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.sieve"), filepath.Join(dir, "bad.sieve")
	os.WriteFile(good, []byte(cliScript), 0o644)
	os.WriteFile(bad, []byte("keep;\nfileinto \"x\";\n"), 0o644)
	out, errOut, code := runSluice(t, "sieve", "check", good, bad)
	if code != 1 || !strings.Contains(out, good+": ok") || !strings.Contains(errOut, bad+":2:1: command 'fileinto' needs require \"fileinto\"") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// put stores and activates; test prints what Pigeonhole's sieve-test
// prints for the same script and message.
func TestSievePutAndTest(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(conf, []byte("hostname: mx.example.net\ndomains: [example.net]\ndata: "+filepath.Join(dir, "data")+"\n"), 0o600)
	auth.HashCost = bcrypt.MinCost
	accounts, err := auth.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if err := accounts.AddUser("bob@example.net", "password1"); err != nil {
		t.Fatal(err)
	}
	script, msg := filepath.Join(dir, "away.sieve"), filepath.Join(dir, "msg.eml")
	os.WriteFile(script, []byte(cliScript), 0o644)
	os.WriteFile(msg, []byte(cliMessage), 0o644)
	out, errOut, code := runSluice(t, "sieve", "put", "--config", conf, "--user", "bob@example.net", "--activate", script)
	if code != 0 || !strings.Contains(out, `stored "away" for bob@example.net (active)`) {
		t.Fatalf("put: exit %d: %s %s", code, out, errOut)
	}
	if _, err := os.Readlink(filepath.Join(dir, "data", "mail", "example.net", "bob", ".dovecot.sieve")); err != nil {
		t.Fatal(err)
	}
	got, errOut, code := runSluice(t, "sieve", "test", "--config", conf, "--user", "bob@example.net", msg)
	if code != 0 {
		t.Fatalf("test: exit %d: %s", code, errOut)
	}
	for _, want := range []string{" * store message in folder: Junk\n        + add IMAP flags: \\flagged\n",
		" * redirect message to: <archive@example.net>\n", " * send vacation message:\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("sluice sieve test lacks %q:\n%s", want, got)
		}
	}
	if want, ok := pigeonholeTest(t, script, msg, "alice@example.org", "bob@example.net"); ok && got != want {
		t.Errorf("sluice sieve test and sieve-test differ:\n--- sieve-test\n%s--- sluice\n%s", want, got)
	}
	bad := filepath.Join(dir, "bad.sieve")
	os.WriteFile(bad, []byte("redirect;"), 0o644)
	if _, errOut, code := runSluice(t, "sieve", "put", "--config", conf, "--user", "bob@example.net", bad); code != 1 || !strings.Contains(errOut, "line 1:1") {
		t.Errorf("put of a broken script: exit %d: %s", code, errOut)
	}
	if _, errOut, code := runSluice(t, "sieve", "put", "--config", conf, "--user", "nobody@example.net", script); code != 1 || !strings.Contains(errOut, "no user") {
		t.Errorf("put for an unknown user: exit %d: %s", code, errOut)
	}
}

// pigeonholeTest runs sieve-test (Debian dovecot-sieve) on script and
// msg; ok is false when it is not installed outside CI.
func pigeonholeTest(t *testing.T, script, msg, from, to string) (string, bool) {
	t.Helper()
	bin, err := exec.LookPath("sieve-test")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sieve-test (Debian dovecot-sieve) is required in CI")
		}
		return "", false
	}
	dir, err := os.MkdirTemp("", "sieve-cli-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o777)
	uid, gid := "nobody", "nogroup"
	if os.Getuid() != 0 {
		u, _ := user.Current()
		uid, gid = u.Username, u.Gid
	}
	conf := filepath.Join(dir, "dovecot.conf")
	os.WriteFile(conf, []byte("mail_location = maildir:"+dir+"/mail\nmail_uid = "+uid+"\nmail_gid = "+gid+"\nprotocols =\n"), 0o644)
	for _, f := range []string{script, msg} {
		data, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644)
	}
	cmd := exec.Command(bin, "-c", conf, "-f", from, "-r", to, filepath.Join(dir, filepath.Base(script)), filepath.Join(dir, filepath.Base(msg)))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sieve-test: %v\n%s", err, stderr.String())
	}
	return stdout.String(), true
}
