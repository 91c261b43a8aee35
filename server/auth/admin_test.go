package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The admin flag survives a password change and a reopen; it can be taken
// away; an unknown account cannot get it.
func TestAdminFlag(t *testing.T) {
	a, dir := open(t)
	if err := a.AddUser("alice@example.test", "password1"); err != nil {
		t.Fatal(err)
	}
	if a.IsAdmin("alice@example.test") {
		t.Error("a new account is an admin")
	}
	if err := a.SetAdmin("Alice@example.test", true); err != nil {
		t.Fatal(err)
	}
	if err := a.SetPassword("alice@example.test", "password2"); err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !b.IsAdmin("alice@example.test") {
		t.Error("admin flag lost by a password change or reopen")
	}
	if err := b.SetAdmin("alice@example.test", false); err != nil || b.IsAdmin("alice@example.test") {
		t.Errorf("admin off: %v", err)
	}
	if err := a.SetAdmin("nobody@example.test", true); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("unknown account: %v", err)
	}
}

func TestAdminTokens(t *testing.T) {
	dir := t.TempDir()
	if CheckAdminToken(dir, "sluice_x") {
		t.Error("a token accepted without a token file")
	}
	tok, err := NewAdminToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	tok2, _ := NewAdminToken(dir)
	if !CheckAdminToken(dir, tok) || !CheckAdminToken(dir, tok2) || tok == tok2 {
		t.Error("made tokens not accepted")
	}
	for _, bad := range []string{"", tok + "0", tok[:len(tok)-1], strings.TrimPrefix(tok, "sluice_")} {
		if CheckAdminToken(dir, bad) {
			t.Errorf("accepted %q", bad)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, TokenFile))
	if strings.Contains(string(b), strings.TrimPrefix(tok, "sluice_")) {
		t.Error("the token file holds the token itself")
	}
}
