package scripts

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicemail/sluice/server/sieve"
)

func newStore(t *testing.T) (*Store, string) {
	t.Helper()
	root := t.TempDir()
	return New(func(user string) (string, error) { return filepath.Join(root, user), nil }, sieve.Limits{}), root
}

func TestLifecycle(t *testing.T) {
	s, root := newStore(t)
	const u = "Bob@example.com"
	if err := s.Put(u, "main", "require \"fileinto\";\nfileinto \"A\";\n"); err != nil {
		t.Fatal(err)
	}
	var se *sieve.Error
	if err := s.Put(u, "bad", "keep;\nfoo;\n"); !errors.As(err, &se) || se.Pos.Line != 2 {
		t.Fatalf("broken script: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "bob@example.com", "sieve", "bad.sieve")); err == nil {
		t.Fatal("a broken script was stored")
	}
	if sc, _, err := s.Active(u); sc != nil || err != nil {
		t.Fatalf("active before SETACTIVE: %v %v", sc, err)
	}
	if err := s.SetActive(u, "main"); err != nil {
		t.Fatal(err)
	}
	link, err := os.Readlink(filepath.Join(root, "bob@example.com", ".dovecot.sieve"))
	if err != nil || link != "sieve/main.sieve" {
		t.Fatalf("Dovecot's active link: %q %v", link, err)
	}
	sc, name, err := s.Active(u)
	if sc == nil || name != "main" || err != nil {
		t.Fatalf("active: %v %q %v", sc, name, err)
	}
	if err := s.Delete(u, "main"); !errors.Is(err, ErrActive) {
		t.Fatalf("deleting the active script: %v", err)
	}
	if err := s.Rename(u, "main", "renamed"); err != nil {
		t.Fatal(err)
	}
	list, _ := s.List(u)
	if len(list) != 1 || list[0] != (Info{Name: "renamed", Active: true}) {
		t.Fatalf("after rename: %+v", list)
	}
	if err := s.Put(u, "other", "keep;"); err != nil {
		t.Fatal(err)
	}
	if err := s.Rename(u, "other", "renamed"); !errors.Is(err, ErrExists) {
		t.Fatalf("rename over an existing script: %v", err)
	}
	if err := s.SetActive(u, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(u, "renamed"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(u, "renamed"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	for _, bad := range []string{"", ".hidden", "a/b", "x\x00"} {
		if err := s.Put(u, bad, "keep;"); !errors.Is(err, ErrBadName) {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	s.MaxScripts = 1
	if err := s.HaveSpace(u, "third", 10); !errors.Is(err, ErrQuota) {
		t.Errorf("quota of one script: %v", err)
	}
}

// A script replaced on disk by another process is picked up.
func TestActiveFollowsChanges(t *testing.T) {
	s, _ := newStore(t)
	const u = "bob@example.com"
	if err := s.Install(u, "main", "keep;"); err != nil {
		t.Fatal(err)
	}
	first, _, _ := s.Active(u)
	other, _ := newStore(t)
	other.home = s.home
	if err := other.Put(u, "main", "discard;   # longer"); err != nil {
		t.Fatal(err)
	}
	second, _, _ := s.Active(u)
	if first == second {
		t.Fatal("the changed script was not reloaded")
	}
	res, err := second.Execute(sieve.Env{})
	if err != nil || res.ImplicitKeep {
		t.Fatalf("the reloaded script keeps: %+v %v", res, err)
	}
}
