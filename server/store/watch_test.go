package store

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// waitMessages waits (up to 5 s) for m to hold n messages.
func waitMessages(t *testing.T, m *Mailbox, n int, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if len(snap(t, m).uids) == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: %d messages, want %d", what, len(snap(t, m).uids), n)
}

// TestWatchPausedForOwnRenames: a STORE on many messages stops watching
// the mailbox while it renames the files, yet a file another program drops
// in meanwhile is still seen, and so is one dropped after, from the
// watch alone (the periodic rescan is an hour away). The first STORE
// pauses before its first rename: the events of the renames made before
// the pause would otherwise bring a rescan of their own, which finds the
// file whether or not the end of the pause asks for one.
func TestWatchPausedForOwnRenames(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost", Rescan: time.Hour})
	const user = "bob@example.org"
	m := inbox(t, s, user)
	n := pauseAfter + 36
	for i := 1; i <= n; i++ {
		if err := s.Deliver(user, "INBOX", msg(i), "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	waitMessages(t, m, n, "deliveries")
	// The deliveries' own file events bring a rescan watchDelay later;
	// let it pass, or it would find the file dropped below by itself.
	time.Sleep(3 * watchDelay)
	newDir := filepath.Join(data, "mail", "example.org", "bob", "new")

	paused := 0
	afterPause = func(pm *Mailbox) {
		if pm != m {
			return
		}
		paused++
		if err := os.WriteFile(filepath.Join(newDir, "1700000000.during.host"), msg(1000), 0o600); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() { afterPause = nil })
	uids := snap(t, m).uids
	defaultPause := pauseAfter
	pauseAfter = 0
	err := m.SetFlags(uids, '+', []string{`\Seen`}, nil)
	m.RenameFiles() // the renames of the next pause (flagrename.go)
	pauseAfter = defaultPause
	if err != nil {
		t.Fatal(err)
	}
	if paused != 1 {
		t.Fatalf("watch paused %d times during a STORE of %d messages, want 1", paused, n)
	}
	waitMessages(t, m, n+1, "file dropped while the watch was paused")
	for i, f := range snap(t, m).flags[:n] {
		if f != "S" {
			t.Fatalf("message %d flags %q after STORE, want S", i+1, f)
		}
	}

	if err := os.WriteFile(filepath.Join(newDir, "1700000001.after.host"), msg(1001), 0o600); err != nil {
		t.Fatal(err)
	}
	waitMessages(t, m, n+2, "file dropped after the STORE")

	// A STORE on a few messages does not pause.
	if err := m.SetFlags(uids[:pauseAfter-1], '-', []string{`\Seen`}, nil); err != nil {
		t.Fatal(err)
	}
	m.RenameFiles()
	if paused != 1 {
		t.Fatalf("watch paused for a STORE of %d messages", pauseAfter-1)
	}
}

// TestWatchOverflowRescans: when inotify's queue overflows, events are
// lost; a file another program added then is still found at once (the
// periodic rescan is an hour away), by a rescan of every open mailbox.
func TestWatchOverflowRescans(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost", Rescan: time.Hour})
	const user = "bob@example.org"
	m := inbox(t, s, user)
	if s.watch.w == nil {
		t.Skip("no inotify here")
	}
	if err := s.Deliver(user, "INBOX", msg(1), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	waitMessages(t, m, 1, "delivery")
	time.Sleep(2 * watchDelay) // the rescan the delivery's own events asked for
	// The lost events: the file appears while its directory is not
	// watched, as if its event had been dropped from a full queue.
	newDir := filepath.Join(data, "mail", "example.org", "bob", "new")
	if err := s.watch.w.Remove(newDir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(newDir, "1700000000.lost.host"), msg(2), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * watchDelay)
	if n := len(snap(t, m).uids); n != 1 {
		t.Fatalf("the file was seen without an event (%d messages): the test shows nothing", n)
	}
	s.watch.failed(fmt.Errorf("read: %w", fsnotify.ErrEventOverflow))
	waitMessages(t, m, 2, "file added while events were lost")
}
