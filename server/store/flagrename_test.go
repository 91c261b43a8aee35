package store

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// curNames returns the names in a mailbox's cur/, sorted.
func curNames(t *testing.T, box string) []string {
	t.Helper()
	names := files(t, filepath.Join(box, "cur"))
	sort.Strings(names)
	return names
}

// deliverSeen delivers n messages (fewer than lazyFrom: indexing moves
// them to cur/) to user's INBOX and returns the open INBOX and the
// Maildir's directory.
func deliverSeen(t *testing.T, s *Store, data, user string, n int) (*Mailbox, string) {
	t.Helper()
	for i := 1; i <= n; i++ {
		if err := s.Deliver(user, "INBOX", msg(i), "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	m := inbox(t, s, user)
	local, domain, _ := strings.Cut(user, "@")
	box := filepath.Join(data, "mail", domain, local)
	if got := len(curNames(t, box)); got != n {
		t.Fatalf("cur/ holds %d files, want %d", got, n)
	}
	return m, box
}

func allUIDs(n int) []uint32 {
	uids := make([]uint32, n)
	for i := range uids {
		uids[i] = uint32(i + 1)
	}
	return uids
}

// waitNames waits until every file of cur/ ends in suffix.
func waitNames(t *testing.T, box, suffix string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		names := curNames(t, box)
		ok := len(names) > 0
		for _, n := range names {
			ok = ok && strings.HasSuffix(n, suffix)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cur/ after 10 s: %v, want every name ending in %q", names, suffix)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStoreRenamesLater: STORE answers with the flags in the index and
// the files under their old names; the files take the new flags in the
// next pause, without a further command.
func TestStoreRenamesLater(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost", Rescan: time.Hour})
	m, box := deliverSeen(t, s, data, "alice@example.org", 20)
	before := curNames(t, box)
	done := m.Busy() // a session's command, as the IMAP server marks each
	if err := m.SetFlags(allUIDs(20), '+', []string{`\Seen`, `\Flagged`}, nil); err != nil {
		t.Fatal(err)
	}
	for i, f := range snap(t, m).flags {
		if f != "FS" {
			t.Fatalf("message %d has flags %q right after STORE, want FS", i+1, f)
		}
	}
	if got := curNames(t, box); strings.Join(got, " ") != strings.Join(before, " ") {
		t.Fatalf("STORE renamed files before answering: %v", got)
	}
	// The content is read through the old name meanwhile.
	if raw, err := m.ReadMessage(3); err != nil || string(raw) != string(msg(3)) {
		t.Fatalf("ReadMessage before the renames: %q, %v", raw, err)
	}
	done()
	waitNames(t, box, ":2,FS")
	if raw, err := m.ReadMessage(3); err != nil || string(raw) != string(msg(3)) {
		t.Fatalf("ReadMessage after the renames: %q, %v", raw, err)
	}
	for i, f := range snap(t, m).flags {
		if f != "FS" {
			t.Fatalf("message %d has flags %q after the renames, want FS", i+1, f)
		}
	}
}

// TestStoreUndoneRenamesNothing: flags set and cleared again before the
// pause leave every file as it was, and nothing waits for a rename.
func TestStoreUndoneRenamesNothing(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost", Rescan: time.Hour})
	m, box := deliverSeen(t, s, data, "alice@example.org", 10)
	before := curNames(t, box)
	holdRenames.Store(true)
	t.Cleanup(func() { holdRenames.Store(false) })
	if err := m.SetFlags(allUIDs(10), '+', []string{`\Seen`}, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.SetFlags(allUIDs(10), '-', []string{`\Seen`}, nil); err != nil {
		t.Fatal(err)
	}
	m.View(func(msgs []*Message) error {
		for _, msg := range msgs {
			if msg.unrenamed || msg.Flags != "" {
				t.Errorf("UID %d: flags %q, unrenamed %v after STORE and its undo", msg.UID, msg.Flags, msg.unrenamed)
			}
		}
		return nil
	})
	holdRenames.Store(false)
	m.RenameFiles()
	if got := curNames(t, box); strings.Join(got, " ") != strings.Join(before, " ") {
		t.Fatalf("files renamed after STORE and its undo: %v, were %v", got, before)
	}
}

// TestUnrenamedAfterCrash: the store stops (a crash) after STORE
// answered and before any rename. The next open keeps the flags STORE
// set and renames the files; a file renamed before the crash is taken as
// done; a file renamed from outside meanwhile keeps the flags its name
// says, as any change from outside.
func TestUnrenamedAfterCrash(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	const user = "alice@example.org"
	m, box := deliverSeen(t, s, data, user, 6)
	holdRenames.Store(true)
	t.Cleanup(func() { holdRenames.Store(false) })
	if err := m.SetFlags(allUIDs(6), '+', []string{`\Seen`}, nil); err != nil {
		t.Fatal(err)
	}
	byName := map[string]uint32{}
	m.View(func(msgs []*Message) error {
		for _, msg := range msgs {
			byName[msg.base] = msg.UID
		}
		return nil
	})
	s.Close() // with the renames held: what a crash leaves
	names := curNames(t, box)
	for _, n := range names {
		if !strings.HasSuffix(n, ":2,") {
			t.Fatalf("%s renamed although held", n)
		}
	}
	// One file renamed before the crash; another flagged from outside
	// while sluice was down.
	base0, _, _ := splitName(names[0])
	base1, _, _ := splitName(names[1])
	if err := os.Rename(filepath.Join(box, "cur", names[0]), filepath.Join(box, "cur", base0+":2,S")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(box, "cur", names[1]), filepath.Join(box, "cur", base1+":2,F")); err != nil {
		t.Fatal(err)
	}

	holdRenames.Store(false)
	s3 := mustOpen(t, data)
	m3 := inbox(t, s3, user)
	want := map[uint32]string{}
	for _, uid := range allUIDs(6) {
		want[uid] = "S"
	}
	want[byName[base1]] = "F"
	got := snap(t, m3)
	for i, uid := range got.uids {
		if got.flags[i] != want[uid] {
			t.Errorf("UID %d: flags %q after the restart, want %q", uid, got.flags[i], want[uid])
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		done := 0
		for _, n := range curNames(t, box) {
			b, f, _ := splitName(n)
			if f == want[byName[b]] {
				done++
			}
		}
		if done == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cur/ after 10 s: %v, want flags %v by UID", curNames(t, box), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	m3.View(func(msgs []*Message) error {
		for _, msg := range msgs {
			if msg.unrenamed {
				t.Errorf("UID %d still waits for a rename", msg.UID)
			}
		}
		return nil
	})
}

func mustOpen(t *testing.T, data string) *Store {
	t.Helper()
	s, err := Open(data, Options{Hostname: "testhost"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestCloseRenames: closing the store renames what still waits, so that
// another program reading the Maildir after sluice stops sees the flags.
func TestCloseRenames(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	m, box := deliverSeen(t, s, data, "alice@example.org", 5)
	if err := m.SetFlags(allUIDs(5), '+', []string{`\Answered`}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, n := range curNames(t, box) {
		if !strings.HasSuffix(n, ":2,R") {
			t.Errorf("%s after Close, want :2,R", n)
		}
	}
}

// TestCopyWhileRenamed: a COPY whose look at a message came before the
// file's rename to its flags still copies it (Transfer asks for the name
// again), with the flags the index holds.
func TestCopyWhileRenamed(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost", Rescan: time.Hour})
	const user = "alice@example.org"
	m, box := deliverSeen(t, s, data, user, 3)
	a, err := s.Account(user)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Create("Kept"); err != nil {
		t.Fatal(err)
	}
	dest, err := a.Mailbox("Kept")
	if err != nil {
		t.Fatal(err)
	}
	holdRenames.Store(true)
	t.Cleanup(func() { holdRenames.Store(false); beforeTransferFile = nil })
	if err := m.SetFlags(allUIDs(3), '+', []string{`\Flagged`}, nil); err != nil {
		t.Fatal(err)
	}
	beforeTransferFile = func() {
		holdRenames.Store(false)
		m.RenameFiles()
		beforeTransferFile = nil
	}
	src, dst, err := m.Transfer(dest, allUIDs(3), false)
	if err != nil || len(src) != 3 || len(dst) != 3 {
		t.Fatalf("COPY with a rename between look and link: %v -> %v, %v", src, dst, err)
	}
	for i, f := range snap(t, dest).flags {
		if f != "F" {
			t.Errorf("copy %d has flags %q, want F", i+1, f)
		}
	}
	for _, n := range files(t, filepath.Join(box, folderDir("Kept"), "cur")) {
		if !strings.HasSuffix(n, ":2,F") {
			t.Errorf("copy %s does not carry F", n)
		}
	}
}
