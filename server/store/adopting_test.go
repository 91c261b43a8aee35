package store

import (
	"slices"
	"testing"
	"time"
)

// meddle makes beforeAdopt run fn once, for mailbox m only: another
// session's poll and EXPUNGE in the window between a file's arrival and
// its adoption.
func meddle(t *testing.T, m *Mailbox, fn func()) {
	t.Helper()
	done := false
	beforeAdopt = func(got *Mailbox) {
		if got == m && !done {
			done = true
			fn()
		}
	}
	t.Cleanup(func() { beforeAdopt = nil })
}

// pollAndExpunge is what other sessions do meanwhile: a poll (the
// store's own pending files, then a full rescan) and an EXPUNGE.
func pollAndExpunge(t *testing.T, m *Mailbox) {
	t.Helper()
	if err := m.Sync(false); err != nil {
		t.Error(err)
	}
	if err := m.Sync(true); err != nil {
		t.Error(err)
	}
	if _, err := m.Expunge(nil); err != nil {
		t.Error(err)
	}
}

// TestAppendDeletedWhileOthersExpunge: a message appended with \Deleted
// is not indexed by another session's poll before the APPEND indexes it,
// so another session's EXPUNGE cannot remove it first and the APPEND
// gets its UID (it failed with "message not indexed", NO [SERVERBUG] in
// imaptest's stress mode).
func TestAppendDeletedWhileOthersExpunge(t *testing.T) {
	s, _ := openTest(t, Options{Hostname: "testhost"})
	const user = "alice@example.org"
	if err := s.Deliver(user, "INBOX", msg(1), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	m := inbox(t, s, user)
	meddle(t, m, func() { pollAndExpunge(t, m) })

	uid, _, err := m.Append(msg(2), []string{`\Deleted`, "$Label1"}, time.Time{})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	got := snap(t, m)
	if !slices.Equal(got.uids, []uint32{1, uid}) || got.flags[1] != "T" || got.keywords[1] != "$Label1" {
		t.Fatalf("after Append: %v (UID %d)", got, uid)
	}
	if gone, err := m.Expunge(nil); err != nil || !slices.Equal(gone, []uint32{uid}) {
		t.Errorf("Expunge = %v, %v; want [%d]", gone, err, uid)
	}
}

// TestCopyDeletedWhileOthersExpunge: the same for COPY into a mailbox
// another session expunges meanwhile.
func TestCopyDeletedWhileOthersExpunge(t *testing.T) {
	s, _ := openTest(t, Options{Hostname: "testhost"})
	const user = "alice@example.org"
	if err := s.Deliver(user, "INBOX", msg(1), "T", time.Time{}); err != nil {
		t.Fatal(err)
	}
	m := inbox(t, s, user)
	a, err := s.Account(user)
	if err != nil {
		t.Fatal(err)
	}
	trash, err := a.Mailbox("Trash")
	if err != nil {
		t.Fatal(err)
	}
	meddle(t, trash, func() { pollAndExpunge(t, trash) })

	src, dst, err := m.Transfer(trash, []uint32{1}, false)
	if err != nil || !slices.Equal(src, []uint32{1}) || len(dst) != 1 {
		t.Fatalf("Transfer = %v, %v, %v", src, dst, err)
	}
	if got := snap(t, trash); !slices.Equal(got.uids, dst) {
		t.Fatalf("Trash holds %v, want %v", got.uids, dst)
	}
}

// TestAwaitedFileIndexedLater: a file whose command failed before adopt
// (released) is indexed by the next sync, as any file found.
func TestAwaitedFileIndexedLater(t *testing.T) {
	s, _ := openTest(t, Options{Hostname: "testhost"})
	const user = "alice@example.org"
	m := inbox(t, s, user)
	base := s.names.base(10, time.Now())
	m.awaitAdoption(base)
	if _, err := s.putNamed(user, "INBOX", msg(1), "", time.Time{}, true, base); err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(true); err != nil {
		t.Fatal(err)
	}
	if got := snap(t, m); len(got.uids) != 0 {
		t.Fatalf("a file awaiting adoption was indexed: %v", got)
	}
	m.releaseAdoption(base)
	if err := m.Sync(true); err != nil {
		t.Fatal(err)
	}
	if got := snap(t, m); len(got.uids) != 1 {
		t.Fatalf("released file not indexed: %v", got)
	}
}
