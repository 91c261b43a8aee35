package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// afterCalls is an interrupted check that says a command came from its
// n+1th call on.
func afterCalls(n int) func() bool {
	calls := 0
	return func() bool {
		calls++
		return calls > n
	}
}

// TestSettleStopsForCommand: fill's settling of a batch in a pause stops
// at the file where a command came, commits what it did, and leaves the
// rest lazy for the next pause.
func TestSettleStopsForCommand(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	s.lazyFrom, s.fillDelay = 10, time.Hour // fill never runs by itself
	const user, n, k = "bob@example.org", 40, 5
	dir := lazyMaildir(t, data, user, n)
	m := inbox(t, s, user)
	var batch []*lazyContent
	m.View(func(msgs []*Message) error {
		for _, msg := range msgs {
			msg.lazy.load()
			batch = append(batch, msg.lazy)
		}
		return nil
	})
	m.mu.Lock()
	err := m.settle(batch, afterCalls(k))
	m.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if _, lazy := copies(t, m); lazy != n-k {
		t.Fatalf("%d messages settled, want %d (a command came after %d)", n-lazy, k, k)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "new")); len(left) != n-k {
		t.Fatalf("%d files left in new/, want %d", len(left), n-k)
	}
	// Without a command, the rest settles.
	m.mu.Lock()
	err = m.settle(batch, neverInterrupted)
	m.mu.Unlock()
	if _, lazy := copies(t, m); err != nil || lazy != 0 {
		t.Fatalf("%d lazy after an uninterrupted settle (%v), want 0", lazy, err)
	}
	msgs, _ := copies(t, m)
	for i := range msgs {
		if err := checkLazy(&msgs[i], i); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRenamesStopForCommand: renaming files to their flags in a pause
// stops where a command came and says that more is left; the rest is
// renamed later.
func TestRenamesStopForCommand(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost", Rescan: time.Hour})
	const k = 7
	m, box := deliverSeen(t, s, data, "alice@example.org", 20)
	// A command under way: the renames SetFlags starts in the background
	// wait for a pause (up to fillWaitMax), or they could run between
	// holdRenames' release and the interrupted batch below and rename
	// all 20 first (seen once under -race in CI).
	defer m.Busy()()
	holdRenames.Store(true)
	err := m.SetFlags(allUIDs(20), '+', []string{`\Seen`}, nil)
	holdRenames.Store(false)
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	more, err := m.renameLocked(renameBatch, afterCalls(k))
	m.mu.Unlock()
	if err != nil || !more {
		t.Fatalf("interrupted renames: more %v, %v; want more", more, err)
	}
	renamed := 0
	for _, name := range curNames(t, box) {
		if strings.HasSuffix(name, ":2,S") {
			renamed++
		}
	}
	if renamed != k {
		t.Fatalf("%d files renamed, want %d (a command came after %d)", renamed, k, k)
	}
	m.RenameFiles()
	waitNames(t, box, ":2,S")
}

// TestPauseInterruptedByCommand: work begun in a pause is told when a
// session's command comes; work that waited out fillWaitMax under a
// command is not, so that it goes on under constant use.
func TestPauseInterruptedByCommand(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost", Rescan: time.Hour})
	m, _ := deliverSeen(t, s, data, "alice@example.org", 1)
	s.fillWaitMax = time.Hour
	interrupted := m.awaitPause() // no command has run: a pause
	if interrupted == nil || interrupted() {
		t.Fatal("work in a pause interrupted before any command")
	}
	done := m.Busy()
	if !interrupted() {
		t.Fatal("work in a pause not told of the command that came")
	}
	s.fillWaitMax = 50 * time.Millisecond
	forced := m.awaitPause()
	if forced == nil || forced() {
		t.Fatal("work that waited out fillWaitMax is interrupted by the command it waited for")
	}
	done()
}
