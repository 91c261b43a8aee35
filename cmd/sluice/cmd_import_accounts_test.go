package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/server/auth"
)

// TestImportAccounts runs `sluice import accounts` on a Dovecot passwd-file
// whose hashes Dovecot's doveadm made: each user then logs in with the old
// password, the corrupt line and the unverifiable scheme are reported by
// line, the rest is imported, and the exit status says it was incomplete.
// A second run changes nothing.
func TestImportAccounts(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(conf, []byte("domains: [example.org]\ndata: data\n"), 0o644)
	passwd, _ := filepath.Abs("../../server/migrate/testdata/passwd")

	out, stderr, code := runSluice(t, "import", "accounts", "--config", conf, "--domain", "example.org", passwd)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a skipped line, disabled accounts)\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{
		"passwd:12: skipped: no ':' after the user name",
		"passwd:11: frank@example.org created DISABLED: auth: unsupported password scheme {CRAM-MD5}",
		"passwd:13: grace@example.org created DISABLED: marked nologin",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	for _, want := range []string{"added alice@example.org ({BLF-CRYPT})", "added dave@example.org ({SSHA512})",
		"added erin@example.org ({CRYPT})", "6 added, 0 already there, 2 disabled, 1 lines skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}

	accts, err := auth.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	accts.SetRehash(false) // the second run below must see the file as imported
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin", "heidi"} {
		if err := accts.Authenticate(u+"@example.org", "pw-"+u); err != nil {
			t.Errorf("%s cannot log in with the old password: %v", u, err)
		}
		if accts.Authenticate(u+"@example.org", "pw-frank") == nil {
			t.Errorf("%s logs in with another's password", u)
		}
	}
	for _, u := range []string{"frank", "grace"} {
		if accts.Authenticate(u+"@example.org", "pw-"+u) == nil {
			t.Errorf("disabled %s logs in", u)
		}
	}

	before, _ := os.ReadFile(accts.Path())
	out, _, code = runSluice(t, "import", "accounts", "--config", conf, "--domain", "example.org", passwd)
	after, _ := os.ReadFile(accts.Path())
	if code != 1 || !strings.Contains(out, "0 added, 8 already there") || string(before) != string(after) {
		t.Errorf("second run: exit %d\n%s\nfile changed: %v", code, out, string(before) != string(after))
	}

	if _, stderr, code := runSluice(t, "import", "accounts", "--config", conf, filepath.Join(dir, "missing")); code != 1 || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing file: exit %d %s", code, stderr)
	}
}
