package scripts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportDovecot(t *testing.T) {
	s, _ := newStore(t)
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "sieve"), 0o755)
	os.WriteFile(filepath.Join(home, "sieve", "roundcube.sieve"), []byte("require \"fileinto\";\nfileinto \"Lists\";\n"), 0o644)
	os.WriteFile(filepath.Join(home, "sieve", "old.sieve"), []byte("keep;\n"), 0o644)
	os.WriteFile(filepath.Join(home, "sieve", "broken.sieve"), []byte("keep;\nbogus;\n"), 0o644)
	os.Symlink("sieve/roundcube.sieve", filepath.Join(home, ".dovecot.sieve"))
	active, err := s.ImportDovecot("bob@example.com", home)
	if active != "roundcube" {
		t.Fatalf("active %q", active)
	}
	if err == nil || !strings.Contains(err.Error(), "broken.sieve") || !strings.Contains(err.Error(), "line 2:1") {
		t.Errorf("the broken script is not reported: %v", err)
	}
	list, _ := s.List("bob@example.com")
	if len(list) != 2 || list[1] != (Info{Name: "roundcube", Active: true}) {
		t.Errorf("imported: %+v", list)
	}

	// A plain .dovecot.sieve file, as older setups have.
	home2 := t.TempDir()
	os.WriteFile(filepath.Join(home2, ".dovecot.sieve"), []byte("discard;\n"), 0o644)
	if active, err := s.ImportDovecot("carol@example.com", home2); active != "dovecot" || err != nil {
		t.Fatalf("plain file: %q %v", active, err)
	}
	if sc, _, _ := s.Active("carol@example.com"); sc == nil {
		t.Fatal("no active script")
	}
}
