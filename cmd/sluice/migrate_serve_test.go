package main

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/sluicemail/sluice/server/auth"
)

// TestServeMigrationMode runs `sluice serve` as during a cut-over: accounts
// imported from a Dovecot passwd-file, migration: {soft_bounce: true}.
// The banner and the log say soft bounce is on; a recipient that does
// not exist gets 450 instead of 550 through the real MX listener; an
// imported user authenticates on submission with the old password, and
// that first login replaced the imported hash with bcrypt.
func TestServeMigrationMode(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "test.zone"), []byte("$ORIGIN .\n$TTL 300\n"), 0o644)
	conf := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(conf, []byte(`hostname: mx.example.org
domains: [example.org]
data: data
listen: {smtp: "127.0.0.1:0", submission: "127.0.0.1:0"}
dns: {zonefile: test.zone}
migration: {soft_bounce: true}
`), 0o644)
	passwd, _ := filepath.Abs("../../server/migrate/testdata/passwd")
	if out, errOut, code := runIn(t, "", "import", "accounts", "--config", conf, "--domain", "example.org", passwd); code != 1 || !strings.Contains(out, "6 added") {
		t.Fatalf("import accounts: %d\n%s\n%s", code, out, errOut)
	}
	cmd, stdout, stderr := startServeProcess(t, conf)
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("server stderr:\n%s", stderr.String())
		}
	}()
	banner := readBanner(t, stdout)
	if !strings.Contains(banner, "SOFT BOUNCE IS ON") {
		t.Errorf("banner does not say soft bounce is on:\n%s", banner)
	}
	waitFor(t, func() bool { return strings.Contains(stderr.String(), "SOFT BOUNCE IS ON") }, "the notice in the log")
	addr := func(kind string) string {
		m := regexp.MustCompile(kind + `\s+(127\.0\.0\.1:\d+)`).FindStringSubmatch(banner)
		if m == nil {
			t.Fatalf("no %s in banner:\n%s", kind, banner)
		}
		return m[1]
	}

	c, err := gosmtp.Dial(addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("friend@example.net", nil); err != nil {
		t.Fatal(err)
	}
	err = c.Rcpt("nobody@example.org", nil)
	if se, ok := err.(*gosmtp.SMTPError); !ok || se.Code != 450 || se.EnhancedCode != (gosmtp.EnhancedCode{4, 1, 1}) {
		t.Errorf("unknown recipient under soft bounce: %v, want 450 4.1.1", err)
	}
	waitFor(t, func() bool {
		return strings.Contains(stderr.String(), `code=550 enhanced=5.1.1 text="No such user here" sent=450`)
	}, "the replaced 550 in the log")

	s, err := gosmtp.DialStartTLS(addr("submission"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Auth(sasl.NewPlainClient("", "bob@example.org", "pw-bob")); err != nil {
		t.Fatalf("bob (SHA512-CRYPT from Dovecot) cannot log in with his old password: %v", err)
	}
	accts, _ := auth.Open(filepath.Join(dir, "data"))
	accts.SetRehash(false)
	data, _ := os.ReadFile(accts.Path())
	if strings.Contains(string(data), "{SHA512-CRYPT}") {
		t.Error("the SHA512-CRYPT hash was not replaced after the first login")
	}
	if accts.Authenticate("bob@example.org", "pw-bob") != nil {
		t.Error("bob's re-hashed password does not verify")
	}
}
