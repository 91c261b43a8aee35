package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/server/auth"
)

// TestImportPostfix reads a copy of /etc/postfix in real formats: the
// virtual_alias_maps hash table becomes aliases and a catch-all that
// deliver where Postfix delivered; the regexp table, a virtual alias
// domain line, a line without target and every setting sluice does not
// translate are each named, and the exit status says it is incomplete.
func TestImportPostfix(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(conf, []byte("domains: [example.org, example.net]\ndata: data\n"), 0o644)
	accts, err := auth.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := accts.AddUser(u+"@example.org", "password1"); err != nil {
			t.Fatal(err)
		}
	}
	src, _ := filepath.Abs("../../server/migrate/testdata/postfix")
	out, errOut, code := runIn(t, "", "import", "postfix", "--config", conf, src)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"alias sales@example.org -> alice@example.org, bob@example.org (virtual:3)",
		"alias @example.net -> alice@example.org (virtual:6)", "main.cf:33: header_checks = regexp:/etc/postfix/header_checks: not translated",
		"main.cf:14: alias_maps"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"virtual_alias_maps regexp:/etc/postfix/virtual_regexp: not translated",
		"virtual:8: example.com: not translated (a virtual alias domain", "virtual:9: skipped: \"broken-line-without-target\" has no target"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	for rcpt, want := range map[string][]string{
		"team@example.org":    {"alice@example.org", "carol@example.org"},
		"info@example.org":    {"alice@example.org"},
		"anyone@example.net":  {"alice@example.org"},
		"forward@example.org": {"someone@elsewhere.example"},
	} {
		got, ok := accts.Resolve(rcpt)
		slices.Sort(got)
		if !ok || !slices.Equal(got, want) {
			t.Errorf("%s resolves to %v, want %v", rcpt, got, want)
		}
	}
	if _, errOut, code := runIn(t, "", "import", "postfix", "--config", conf, dir); code != 1 || !strings.Contains(errOut, "main.cf: no such file") {
		t.Errorf("no main.cf: exit %d %s", code, errOut)
	}
}
