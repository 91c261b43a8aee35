package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRenameMessageError: a file removed from outside gives an error that
// still says so, which SetFlags relies on to skip it.
func TestRenameMessageError(t *testing.T) {
	dir := t.TempDir()
	err := renameMessage(filepath.Join(dir, "gone"), filepath.Join(dir, "new"))
	var le *os.LinkError
	if !errors.Is(err, os.ErrNotExist) || !errors.As(err, &le) {
		t.Fatalf("renameMessage of a missing file = %#v, want an *os.LinkError that is os.ErrNotExist", err)
	}
	from, to := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(from, []byte("x"), 0o600)
	if err := renameMessage(from, to); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(to); err != nil {
		t.Fatal(err)
	}
}

// TestRenamerByName: the directory-relative renamer moves a file from
// new/ to cur/ and within cur/, and a file removed from outside gives the
// same error as renameMessage, naming the whole paths.
func TestRenamerByName(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range []string{"new", "cur"} {
		os.Mkdir(filepath.Join(dir, sub), 0o700)
	}
	os.WriteFile(filepath.Join(dir, "new", "m1"), []byte("x"), 0o600)
	rn := newRenamer(dir)
	defer rn.close()
	if err := rn.rename("new", "m1", "cur", "m1:2,"); err != nil {
		t.Fatal(err)
	}
	if err := rn.rename("cur", "m1:2,", "cur", "m1:2,S"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cur", "m1:2,S")); err != nil {
		t.Fatal(err)
	}
	err := rn.rename("cur", "gone", "cur", "gone:2,S")
	var le *os.LinkError
	if !errors.Is(err, os.ErrNotExist) || !errors.As(err, &le) || le.Old != filepath.Join(dir, "cur", "gone") {
		t.Fatalf("renaming a missing file = %#v, want an *os.LinkError with its path that is os.ErrNotExist", err)
	}
}

// TestStoreAllRenames: the first look moves every delivered file from
// new/ to cur/, a STORE over the whole mailbox renames each file to carry
// the flag, one file removed from outside meanwhile is skipped without
// failing the others, and a restart reads the flags back.
func TestStoreAllRenames(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	const user = "alice@example.org"
	const n = 200
	for i := 1; i <= n; i++ {
		if err := s.Deliver(user, "INBOX", msg(i), "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	m := inbox(t, s, user)
	box := filepath.Join(data, "mail", "example.org", "alice")
	if got := files(t, filepath.Join(box, "new")); len(got) != 0 {
		t.Fatalf("new/ still holds %d files after the first look", len(got))
	}
	cur := files(t, filepath.Join(box, "cur"))
	if len(cur) != n {
		t.Fatalf("cur/ holds %d files, want %d", len(cur), n)
	}
	if err := os.Remove(filepath.Join(box, "cur", cur[n/2])); err != nil {
		t.Fatal(err)
	}
	uids := make([]uint32, n)
	for i := range uids {
		uids[i] = uint32(i + 1)
	}
	if err := m.SetFlags(uids, '+', []string{`\Seen`}, nil); err != nil {
		t.Fatalf("STORE over all with one file gone: %v", err)
	}
	m.RenameFiles() // else in the next pause (flagrename.go)
	cur = files(t, filepath.Join(box, "cur"))
	if len(cur) != n-1 {
		t.Fatalf("cur/ holds %d files, want %d", len(cur), n-1)
	}
	for _, name := range cur {
		if !strings.HasSuffix(name, ":2,S") {
			t.Errorf("%s does not carry \\Seen", name)
		}
	}
	s = reopen(t, s, data)
	m = inbox(t, s, user)
	seen := 0
	m.View(func(msgs []*Message) error {
		for _, msg := range msgs {
			if HasFlag(msg.Flags, LetterSeen) {
				seen++
			}
		}
		return nil
	})
	if seen != n-1 {
		t.Fatalf("after restart %d messages are \\Seen, want %d", seen, n-1)
	}
}
