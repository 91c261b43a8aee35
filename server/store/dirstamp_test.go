package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ageDirs sets the mtimes of a mailbox's new/ and cur/ to t, as if the
// last change were that long ago.
func ageDirs(tb testing.TB, dir string, t time.Time) {
	tb.Helper()
	for _, sub := range []string{"new", "cur"} {
		if err := os.Chtimes(filepath.Join(dir, sub), t, t); err != nil {
			tb.Fatal(err)
		}
	}
}

// settledInbox delivers 3 messages to bob's INBOX, ages its directories
// an hour back (to past) and syncs it, so that the listing's stamp is
// kept. dir is bob's Maildir.
func settledInbox(t *testing.T, s *Store, data string) (m *Mailbox, dir string, past time.Time) {
	t.Helper()
	const user = "bob@example.org"
	for i := range 3 {
		s.Deliver(user, "INBOX", msg(i), "", time.Time{})
	}
	m = inbox(t, s, user)
	dir = filepath.Join(data, "mail", "example.org", "bob")
	past = time.Now().Add(-time.Hour).Truncate(time.Second)
	ageDirs(t, dir, past)
	if err := m.Sync(true); err != nil { // lists, and keeps the settled stamp
		t.Fatal(err)
	}
	return m, dir, past
}

func count(t *testing.T, m *Mailbox) int {
	t.Helper()
	return len(snap(t, m).uids)
}

// A full sync skips the listing while the directories are unchanged, and
// sees every change made from outside once they are not.
func TestFullSyncSkipsUnchangedDirs(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	m, dir, past := settledInbox(t, s, data)

	// A file slipped in with the mtime put back: the stamp still matches,
	// so the sync must not have listed cur/ (this is what makes a warm
	// SELECT cheap).
	hidden := filepath.Join(dir, "cur", "1700000000.hidden.host:2,")
	if err := os.WriteFile(hidden, msg(10), 0o600); err != nil {
		t.Fatal(err)
	}
	ageDirs(t, dir, past)
	if err := m.Sync(true); err != nil {
		t.Fatal(err)
	}
	if n := count(t, m); n != 3 {
		t.Fatalf("unchanged directories were listed: %d messages, want 3", n)
	}
	os.Remove(hidden)
	ageDirs(t, dir, past)

	// Outside changes move the mtime and are all seen: a file dropped in
	// new/ (an outside delivery), a flag renamed by mutt, a removal.
	drop := filepath.Join(dir, "new", "1700000001.outside.host")
	if err := os.WriteFile(drop, msg(11), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(true); err != nil {
		t.Fatal(err)
	}
	if got := snap(t, m); len(got.uids) != 4 || got.uids[3] != 4 {
		t.Fatalf("outside delivery not seen: %+v", got)
	}
	ageDirs(t, dir, past)
	if err := m.Sync(true); err != nil {
		t.Fatal(err)
	}
	cur, err := os.ReadDir(filepath.Join(dir, "cur"))
	if err != nil {
		t.Fatal(err)
	}
	var flagged, removed string
	for _, e := range cur {
		switch {
		case strings.Contains(e.Name(), "outside"):
		case flagged == "":
			flagged = e.Name()
		case removed == "":
			removed = e.Name()
		}
	}
	if err := os.Rename(filepath.Join(dir, "cur", flagged), filepath.Join(dir, "cur", flagged+"F")); err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(true); err != nil {
		t.Fatal(err)
	}
	if got := snap(t, m); !strings.Contains(strings.Join(got.flags, " "), "F") {
		t.Fatalf("outside flag change not seen: %+v", got)
	}
	ageDirs(t, dir, past)
	if err := m.Sync(true); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "cur", removed)); err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(true); err != nil {
		t.Fatal(err)
	}
	if n := count(t, m); n != 3 {
		t.Fatalf("outside removal not seen: %d messages, want 3", n)
	}
}

// A stamp taken while a directory's mtime is younger than dirSettle is
// not trusted: a change in the same timestamp tick, which leaves the
// mtime as it was, is still seen by the next full sync.
func TestFullSyncDistrustsFreshMtime(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	const user = "bob@example.org"
	s.Deliver(user, "INBOX", msg(1), "", time.Time{})
	m := inbox(t, s, user)
	dir := filepath.Join(data, "mail", "example.org", "bob")
	fresh := time.Now().Truncate(time.Second)
	ageDirs(t, dir, fresh)
	if err := m.Sync(true); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cur", "1700000000.sametick.host:2,"), msg(2), 0o600); err != nil {
		t.Fatal(err)
	}
	ageDirs(t, dir, fresh) // the same tick: the mtime did not move
	if err := m.Sync(true); err != nil {
		t.Fatal(err)
	}
	if n := count(t, m); n != 2 {
		t.Fatalf("file added in the same mtime tick not seen: %d messages, want 2", n)
	}
}
