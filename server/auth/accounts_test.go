package auth

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func init() { HashCost = bcrypt.MinCost } // fast hashes in tests

func open(t *testing.T) (*Accounts, string) {
	t.Helper()
	dir := t.TempDir()
	a, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return a, dir
}

func TestAuthenticate(t *testing.T) {
	a, dir := open(t)
	if err := a.AddUser("Alice@Example.TEST", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if err := a.Authenticate("alice@example.test", "correct horse"); err != nil {
		t.Errorf("right password: %v", err)
	}
	if err := a.Authenticate("ALICE@example.test", "correct horse"); err != nil {
		t.Errorf("user name is case-insensitive: %v", err)
	}
	for _, c := range [][2]string{{"alice@example.test", "wrong"}, {"bob@example.test", "correct horse"}, {"alice@example.test", ""}} {
		if err := a.Authenticate(c[0], c[1]); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("Authenticate(%q, %q) = %v", c[0], c[1], err)
		}
	}
	// The file holds a bcrypt hash, never the password.
	data, _ := os.ReadFile(filepath.Join(dir, FileName))
	if strings.Contains(string(data), "correct horse") || !strings.Contains(string(data), "$2a$") {
		t.Errorf("file: %s", data)
	}
	if st, _ := os.Stat(filepath.Join(dir, FileName)); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
}

func TestChanges(t *testing.T) {
	a, _ := open(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.AddUser("alice@example.test", "password1"))
	if err := a.AddUser("alice@example.test", "password2"); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate add: %v", err)
	}
	must(a.SetPassword("alice@example.test", "password2"))
	if a.Authenticate("alice@example.test", "password1") == nil || a.Authenticate("alice@example.test", "password2") != nil {
		t.Error("passwd did not take")
	}
	if err := a.SetPassword("nobody@example.test", "password3"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("passwd of unknown user: %v", err)
	}
	for _, bad := range []string{"alice", "a b@example.test", "x%y@example.test", "x@y@example.test", "!x@example.test"} {
		if a.AddUser(bad, "password1") == nil {
			t.Errorf("accepted address %q", bad)
		}
	}
	if a.AddUser("short@example.test", "short") == nil {
		t.Error("accepted a short password")
	}
	must(a.SetAlias("info@example.test", []string{"alice@example.test"}))
	must(a.DeleteUser("alice@example.test"))
	if a.Exists("alice@example.test") || len(a.Aliases()) != 0 {
		t.Error("delete left the user or its alias")
	}
}

func TestResolve(t *testing.T) {
	a, _ := open(t)
	for _, u := range []string{"alice@example.test", "bob@example.test", "carol@other.test"} {
		if err := a.AddUser(u, "password1"); err != nil {
			t.Fatal(err)
		}
	}
	a.SetAlias("team@example.test", []string{"alice@example.test", "bob@example.test"})
	a.SetAlias("sales@example.test", []string{"team@example.test", "outside@elsewhere.example"})
	a.SetAlias("loop1@example.test", []string{"loop2@example.test"})
	a.SetAlias("loop2@example.test", []string{"loop1@example.test", "bob@example.test"})
	a.SetAlias("@other.test", []string{"carol@other.test"})
	cases := []struct {
		rcpt string
		want []string
	}{
		{"alice@example.test", []string{"alice@example.test"}},
		{"ALICE@EXAMPLE.TEST.", []string{"alice@example.test"}},
		{"alice+lists@example.test", []string{"alice@example.test"}},
		{"team@example.test", []string{"alice@example.test", "bob@example.test"}},
		{"sales@example.test", []string{"alice@example.test", "bob@example.test", "outside@elsewhere.example"}},
		{"loop1@example.test", []string{"bob@example.test"}},
		{"anything@other.test", []string{"carol@other.test"}},
		{"postmaster@example.test", []string{"alice@example.test"}},
		{"nobody@example.test", nil},
		{"alice@example.test@evil.example", nil},
		{"alice", nil},
	}
	for _, c := range cases {
		got, ok := a.Resolve(c.rcpt)
		if ok != (c.want != nil) || !slices.Equal(got, c.want) {
			t.Errorf("Resolve(%q) = %v, %v; want %v", c.rcpt, got, ok, c.want)
		}
	}
	owns := map[[2]string]bool{
		{"alice@example.test", "alice@example.test"}:      true,
		{"alice@example.test", "Alice+x@example.test"}:    true,
		{"alice@example.test", "team@example.test"}:       true,
		{"alice@example.test", "bob@example.test"}:        false,
		{"carol@other.test", "anything@other.test"}:       false, // a catch-all is not a sending identity
		{"alice@example.test", "alice@example.test.evil"}: false,
	}
	for k, want := range owns {
		if got := a.Owns(k[0], k[1]); got != want {
			t.Errorf("Owns(%q, %q) = %v", k[0], k[1], got)
		}
	}
}

// A second Accounts on the same directory (the running server) sees what
// the first (the CLI) wrote, without being told.
func TestReloadOnChange(t *testing.T) {
	cli, dir := open(t)
	server, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if server.Exists("alice@example.test") {
		t.Fatal("exists before add")
	}
	cli.AddUser("alice@example.test", "password1")
	if err := server.Authenticate("alice@example.test", "password1"); err != nil {
		t.Errorf("server did not see the new user: %v", err)
	}
	cli.SetPassword("alice@example.test", "password2")
	if err := server.Authenticate("alice@example.test", "password2"); err != nil {
		t.Errorf("server did not see the new password: %v", err)
	}
	// A broken file keeps the last good data.
	os.WriteFile(filepath.Join(dir, FileName), []byte("users: [oops\n"), 0o600)
	if err := server.Authenticate("alice@example.test", "password2"); err != nil {
		t.Errorf("broken file dropped the accounts: %v", err)
	}
}

// Concurrent writers (two CLI runs) both land.
func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := Open(dir)
			if err == nil {
				err = a.AddUser(string(rune('a'+i))+"@example.test", "password1")
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	a, _ := Open(dir)
	if n := len(a.List()); n != 8 {
		t.Errorf("%d users, want 8", n)
	}
}

func FuzzResolve(f *testing.F) {
	dir := f.TempDir()
	a, _ := Open(dir)
	a.AddUser("alice@example.test", "password1")
	a.SetAlias("@example.test", []string{"alice@example.test"})
	a.SetAlias("x@example.test", []string{"y@example.test"})
	a.SetAlias("y@example.test", []string{"x@example.test"})
	for _, s := range []string{"alice@example.test", "a+b@example.test", "x@example.test", "@", "+@", "postmaster@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rcpt string) {
		users, ok := a.Resolve(rcpt)
		if ok && len(users) == 0 {
			t.Error("ok with no users")
		}
	})
}
