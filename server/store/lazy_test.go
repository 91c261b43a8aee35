package store

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// lazyMaildir writes n messages into new/ of user's INBOX from outside,
// in reverse order of their names, each with its own subject, sender,
// size and mtime (the internal date), and returns the Maildir.
func lazyMaildir(t *testing.T, data, user string, n int) string {
	t.Helper()
	local, domain, _ := cutAt(user)
	dir := filepath.Join(data, "mail", domain, local)
	for _, sub := range []string{"new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for i := n - 1; i >= 0; i-- {
		path := filepath.Join(dir, "new", fmt.Sprintf("%d.M%dP1.host", 1800000000+i, i))
		if err := os.WriteFile(path, []byte(lazyBody(i)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, lazyDate(i), lazyDate(i)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func cutAt(user string) (local, domain string, ok bool) {
	for i := len(user) - 1; i >= 0; i-- {
		if user[i] == '@' {
			return user[:i], user[i+1:], true
		}
	}
	return user, "", false
}

// lazyBody is message i, with bare LFs so that its IMAP size differs from
// its file size.
func lazyBody(i int) string {
	return fmt.Sprintf("Subject: lazy %d\nFrom: <u%d@example.net>\nDate: Mon, 2 Jan 2006 15:04:05 +0000\n\n%s\n", i, i, make([]byte, i%50))
}

func lazyDate(i int) time.Time { return time.Unix(1700000000+int64(i)*60, 0) }

// checkLazy checks that message i of msgs (a copy taken under View) is
// message i as lazyMaildir wrote it.
func checkLazy(msg *Message, i int) error {
	want := fmt.Sprintf("lazy %d", i)
	body := lazyBody(i)
	wantSize := int64(len(body)) + 5 // five bare LFs
	if msg.Envelope().Subject != want || msg.Keys().Subject != want ||
		len(msg.Keys().From) != 1 || msg.Keys().From[0] != fmt.Sprintf("u%d@example.net", i) ||
		msg.Size() != wantSize || !msg.Date().Equal(lazyDate(i)) {
		return fmt.Errorf("message %d: subject %q size %d (want %d) date %v (want %v)",
			i, msg.Envelope().Subject, msg.Size(), wantSize, msg.Date(), lazyDate(i))
	}
	return nil
}

// copies returns copies of the mailbox's messages, as sessions take them.
func copies(t *testing.T, m *Mailbox) (out []Message, lazy int) {
	t.Helper()
	err := m.View(func(msgs []*Message) error {
		for _, msg := range msgs {
			out = append(out, *msg)
			if msg.lazy != nil {
				lazy++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, lazy
}

// waitFilled waits until fill has read every message and ended.
func waitFilled(t *testing.T, m *Mailbox) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		m.mu.Lock()
		filling := m.filling
		m.mu.Unlock()
		if _, lazy := copies(t, m); lazy == 0 && !filling {
			return
		}
	}
	t.Fatal("fill did not finish")
}

// A first sync of many new files indexes them from their names: UIDs in
// the order of the names, flags, nothing read yet. Content asked for
// before fill runs (a FETCH, a SEARCH through Load) is right, a flag
// change meanwhile moves the file without losing it, a file removed
// from outside before it was read is expunged by the next sync, and one
// added meanwhile is indexed as usual.
func TestLazyIndexAnswersBeforeFill(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	s.lazyFrom, s.fillDelay = 10, time.Hour // fill never runs in this test
	const user = "bob@example.org"
	const n = 40
	dir := lazyMaildir(t, data, user, n)
	m := inbox(t, s, user)

	msgs, lazy := copies(t, m)
	if len(msgs) != n || lazy != n {
		t.Fatalf("%d messages, %d lazy; want %d, all lazy", len(msgs), lazy, n)
	}
	for i := 1; i < n; i++ {
		if msgs[i].UID <= msgs[i-1].UID {
			t.Fatalf("UID %d after %d: not in the order of the names", msgs[i].UID, msgs[i-1].UID)
		}
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "new")); len(left) != n {
		t.Fatalf("%d files left in new/, want %d (fill moves them)", len(left), n)
	}

	// \Seen on message 5 renames its file to cur/ before it was read.
	if err := m.SetFlags([]uint32{msgs[5].UID}, '+', []string{`\Seen`}, nil); err != nil {
		t.Fatal(err)
	}
	// Message 7's file goes away from outside.
	if err := os.Remove(filepath.Join(dir, "new", msgs[7].base)); err != nil {
		t.Fatal(err)
	}
	// Copies taken before the rename still read the right content.
	ptrs := make([]*Message, len(msgs))
	for i := range msgs {
		ptrs[i] = &msgs[i]
	}
	Load(ptrs)
	for i := range msgs {
		if i == 7 {
			if msgs[i].Envelope().Subject != "" || msgs[i].Size() != 0 {
				t.Fatalf("removed file: subject %q size %d", msgs[i].Envelope().Subject, msgs[i].Size())
			}
			continue
		}
		if err := checkLazy(&msgs[i], i); err != nil {
			t.Fatal(err)
		}
	}

	// One more file from outside: a small batch, indexed eagerly.
	extra := filepath.Join(dir, "new", fmt.Sprintf("%d.M%dP1.host", 1900000000, 1))
	if err := os.WriteFile(extra, []byte("Subject: extra\n\nx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(true); err != nil {
		t.Fatal(err)
	}
	after, _ := copies(t, m)
	if len(after) != n {
		t.Fatalf("%d messages after the sync, want %d (one expunged, one added)", len(after), n)
	}
	if after[n-1].Envelope().Subject != "extra" || after[n-1].lazy != nil {
		t.Fatalf("last message %q, lazy %v: want the extra one, indexed eagerly", after[n-1].Envelope().Subject, after[n-1].lazy != nil)
	}
	for _, msg := range after {
		if msg.UID == msgs[7].UID {
			t.Fatal("message whose file was removed is still there")
		}
	}
	if !HasFlag(after[5].Flags, LetterSeen) || after[5].sub != "cur" {
		t.Fatalf("message 5: flags %q in %s", after[5].Flags, after[5].sub)
	}
}

// openLazy opens the store on data as a test of the lazy first index
// wants it: lazy from 10 new files, fill waiting delay.
func openLazy(t *testing.T, data string, delay time.Duration) *Store {
	t.Helper()
	s, err := Open(data, Options{Hostname: "testhost"})
	if err != nil {
		t.Fatal(err)
	}
	s.lazyFrom, s.fillDelay = 10, delay
	return s
}

// The index written by a lazy first sync survives a crash before fill
// ran: the same UIDs after a restart, content read from the files then,
// and once fill has run the index holds it all (a third open reads no
// file) and every file is in cur/.
func TestLazyIndexRestartMidIndex(t *testing.T) {
	data := t.TempDir()
	open := func(delay time.Duration) *Store { return openLazy(t, data, delay) }
	const user = "carol@example.org"
	const n = 60
	dir := lazyMaildir(t, data, user, n)

	s := open(time.Hour)
	first, _ := copies(t, inbox(t, s, user))
	// Some content read on demand before the "crash": not written.
	Load([]*Message{&first[0], &first[1]})
	s.Close()

	s = open(0)
	m := inbox(t, s, user)
	again, _ := copies(t, m) // fill may have started: the content must be right either way
	if len(again) != n {
		t.Fatalf("%d messages after restart, want %d", len(again), n)
	}
	for i := range again {
		if again[i].UID != first[i].UID {
			t.Fatalf("message %d: UID %d after restart, was %d", i, again[i].UID, first[i].UID)
		}
		if err := checkLazy(&again[i], i); err != nil {
			t.Fatal(err)
		}
	}
	waitFilled(t, m)
	if left, _ := os.ReadDir(filepath.Join(dir, "new")); len(left) != 0 {
		t.Fatalf("%d files left in new/ after fill", len(left))
	}
	s.Close()

	s = open(time.Hour)
	defer s.Close()
	third, lazy := copies(t, inbox(t, s, user))
	if lazy != 0 {
		t.Fatalf("%d messages without content in the index after fill", lazy)
	}
	for i := range third {
		if third[i].UID != first[i].UID {
			t.Fatalf("message %d: UID %d, was %d", i, third[i].UID, first[i].UID)
		}
		if err := checkLazy(&third[i], i); err != nil {
			t.Fatal(err)
		}
	}
}

// Fill runs in the pauses between the sessions' commands: while one is in
// progress on the account (Busy, as an APPEND to any of its mailboxes) it
// settles nothing for fillWaitMax, then goes on with one batch at a time,
// and once the account is idle it finishes.
func TestFillWaitsForCommands(t *testing.T) {
	data := t.TempDir()
	const user = "bob@example.org"
	n := 3 * fillBatch
	lazyMaildir(t, data, user, n)
	s := openLazy(t, data, time.Millisecond)
	t.Cleanup(func() { s.Close() })
	const fillWaitMax = time.Second
	s.fillWaitMax = fillWaitMax
	m := inbox(t, s, user)

	a, err := s.Account(user)
	if err != nil {
		t.Fatal(err)
	}
	done := a.Busy()
	start := time.Now()
	time.Sleep(fillWaitMax / 2)
	if _, lazy := copies(t, m); lazy != n {
		t.Fatalf("%d of %d messages settled during a command", n-lazy, n)
	}
	// A command that never ends holds fill back by fillWaitMax a batch,
	// not forever.
	for deadline := start.Add(10 * fillWaitMax); ; time.Sleep(10 * time.Millisecond) {
		if _, lazy := copies(t, m); lazy < n {
			if waited := time.Since(start); waited < fillWaitMax {
				t.Fatalf("a batch settled after %v, within fillWaitMax of a busy mailbox", waited)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("fill never went on under a command that did not end")
		}
	}
	done()
	waitFilled(t, m)
	msgs, _ := copies(t, m)
	for i := range msgs {
		if err := checkLazy(&msgs[i], i); err != nil {
			t.Fatal(err)
		}
	}
}

// STATUS on a mailbox still indexed lazily reads no file, and STATUS
// SIZE (Size) reads the unread ones on copies, outside the mailbox lock,
// and gives the sum of the sizes as IMAP counts them.
func TestStatusAndSizeBeforeFill(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	s.lazyFrom, s.fillDelay = 10, time.Hour // fill never runs in this test
	const user = "bob@example.org"
	const n = 40
	lazyMaildir(t, data, user, n)
	m := inbox(t, s, user)
	st, err := m.Status()
	if err != nil || st.Messages != n {
		t.Fatalf("Status: %+v %v", st, err)
	}
	unread := func() int {
		c := 0
		m.View(func(msgs []*Message) error {
			for _, msg := range msgs {
				if msg.lazy != nil && !msg.lazy.done.Load() {
					c++
				}
			}
			return nil
		})
		return c
	}
	if u := unread(); u != n {
		t.Fatalf("Status read %d files, want none", n-u)
	}
	var want int64
	for i := range n {
		want += int64(len(lazyBody(i))) + 5 // five bare LFs
	}
	got, err := m.Size()
	if err != nil || got != want {
		t.Fatalf("Size = %d, %v; want %d", got, err, want)
	}
	if again, _ := m.Size(); again != want {
		t.Fatalf("second Size = %d, want %d", again, want)
	}
}
