package store

import (
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestSavedStampOverRestart: a mailbox closed with a settled stamp is not
// listed by the first load after a restart while its directories and
// index are as they were; a directory changed while the store was down,
// or an index that moved on without its directory (a crash between the
// two), is listed.
func TestSavedStampOverRestart(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	const user = "bob@example.org"
	_, dir, past := settledInbox(t, s, data)

	// Closed and opened again with a file slipped in and the mtime put
	// back: the saved stamp matches, so the load did not list cur/.
	hidden := filepath.Join(dir, "cur", "1700000000.hidden.host:2,")
	s = reopenWith(t, s, data, func() {
		if err := os.WriteFile(hidden, msg(10), 0o600); err != nil {
			t.Fatal(err)
		}
		ageDirs(t, dir, past)
	})
	if n := count(t, inbox(t, s, user)); n != 3 {
		t.Fatalf("unchanged directories listed after a restart: %d messages, want 3", n)
	}

	// The index moved on while the directories did not (HIGHESTMODSEQ
	// raised, as a commit whose rename a crash lost): listed.
	s = reopenWith(t, s, data, func() {
		db, err := bolt.Open(filepath.Join(dir, IndexFile), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bolt.Tx) error {
			b, _ := boxBucket(tx, "INBOX", false)
			return b.Put(kModSeq, putU64(getU64(b.Get(kModSeq))+1))
		})
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
	})
	if n := count(t, inbox(t, s, user)); n != 4 {
		t.Fatalf("index changed since the stamp, not listed: %d messages, want 4", n)
	}
	ageDirs(t, dir, past)
	if err := inbox(t, s, user).Sync(true); err != nil { // a settled stamp again
		t.Fatal(err)
	}

	// A file removed while the store was down moves the mtime: listed.
	s = reopenWith(t, s, data, func() {
		if err := os.Remove(hidden); err != nil {
			t.Fatal(err)
		}
	})
	if n := count(t, inbox(t, s, user)); n != 3 {
		t.Fatalf("file removed while down not seen: %d messages, want 3", n)
	}
}

// reopenWith closes s, runs meanwhile with the store down, and opens it
// again.
func reopenWith(t *testing.T, s *Store, data string, meanwhile func()) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	meanwhile()
	s2, err := Open(data, Options{Hostname: "testhost"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	return s2
}
