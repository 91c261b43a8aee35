package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportSpamAssassin runs the real binary on a local.cf in the real
// format: it writes a rule file and tests that `sluice rules lint` and
// `sluice test` pass, names what it left out, and exits 1 for it; a
// missing file is a clear error.
func TestImportSpamAssassin(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "sa-rules")
	src, _ := filepath.Abs("../../server/migrate/testdata/spamassassin/local.cf")
	stdout, stderr, code := runIn(t, "", "import", "spamassassin", "--rules-out", out, src)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"rules: 8 of 8 generated tests pass", "local.cf:28: score URIBL_BLACK 5.0: not translated"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "spamassassin-zone.txt")); err != nil {
		t.Errorf("no zone file for the whitelist_auth test: %v", err)
	}
	if o, e, code := runIn(t, "", "rules", "lint", out); code != 0 {
		t.Errorf("rules lint: exit %d\n%s\n%s", code, o, e)
	}
	if o, e, code := runIn(t, "", "test", out); code != 0 || !strings.Contains(o, "8 passed, 0 failed") {
		t.Errorf("sluice test: exit %d\n%s\n%s", code, o, e)
	}
	clean := filepath.Join(dir, "clean.cf")
	os.WriteFile(clean, []byte("required_score 6\nwhitelist_from *@example.org\n"), 0o644)
	if o, e, code := runIn(t, "", "import", "spamassassin", "--rules-out", filepath.Join(dir, "clean"), clean); code != 0 {
		t.Errorf("a fully translated local.cf: exit %d\n%s\n%s", code, o, e)
	}
	if _, e, code := runIn(t, "", "import", "spamassassin", "--rules-out", out, filepath.Join(dir, "nope.cf")); code != 1 || !strings.Contains(e, "no such file") {
		t.Errorf("missing file: exit %d %s", code, e)
	}
}
