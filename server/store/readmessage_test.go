package store

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"
)

// readRace delivers one message to alice's INBOX and makes beforeRead
// run fn between ReadMessage's look at the index and its read, the first
// times times.
func readRace(t *testing.T, times int, fn func(m *Mailbox)) *Mailbox {
	t.Helper()
	s, _ := openTest(t, Options{Hostname: "testhost"})
	const user = "alice@example.org"
	if err := s.Deliver(user, "INBOX", msg(1), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	m := inbox(t, s, user)
	n := 0
	beforeRead = func(got *Mailbox, uid uint32) {
		if got == m && n < times {
			n++
			fn(m)
		}
	}
	t.Cleanup(func() { beforeRead = nil })
	return m
}

// TestReadMessageRenamedMeanwhile: another session's flag changes rename
// the file between the look and the read; the content is still read.
func TestReadMessageRenamedMeanwhile(t *testing.T) {
	flags := []string{`\Flagged`, `\Answered`, `\Draft`}
	i := 0
	m := readRace(t, len(flags), func(m *Mailbox) {
		if err := m.SetFlags([]uint32{1}, '+', flags[i:i+1], nil); err != nil {
			t.Error(err)
		}
		m.RenameFiles() // the rename the next pause would make (flagrename.go)
		i++
	})
	raw, err := m.ReadMessage(1)
	if err != nil || !bytes.Equal(raw, msg(1)) {
		t.Fatalf("ReadMessage = %q, %v", raw, err)
	}
}

// TestReadMessageExpungedMeanwhile: other sessions change the message's
// flags, then expunge it, each between a look and a read: ErrNoMessage,
// which FETCH skips, not the file system's error.
func TestReadMessageExpungedMeanwhile(t *testing.T) {
	n := 0
	m := readRace(t, 2, func(m *Mailbox) {
		if n++; n == 1 {
			if err := m.SetFlags([]uint32{1}, '+', []string{`\Flagged`}, nil); err != nil {
				t.Error(err)
			}
			m.RenameFiles()
			return
		}
		if err := m.SetFlags([]uint32{1}, '+', []string{`\Deleted`}, nil); err != nil {
			t.Error(err)
		}
		if _, err := m.Expunge(nil); err != nil {
			t.Error(err)
		}
	})
	if _, err := m.ReadMessage(1); !errors.Is(err, ErrNoMessage) {
		t.Fatalf("ReadMessage: %v, want ErrNoMessage", err)
	}
}

// TestReadMessageRemovedOutside: a file removed by another program
// meanwhile is found gone by a rescan: ErrNoMessage.
func TestReadMessageRemovedOutside(t *testing.T) {
	m := readRace(t, 1, func(m *Mailbox) {
		var path string
		m.View(func(msgs []*Message) error {
			path = m.Path(msgs[0])
			return nil
		})
		if err := os.Remove(path); err != nil {
			t.Error(err)
		}
	})
	if _, err := m.ReadMessage(1); !errors.Is(err, ErrNoMessage) {
		t.Fatalf("ReadMessage: %v, want ErrNoMessage", err)
	}
	if got := snap(t, m); len(got.uids) != 0 {
		t.Errorf("the rescan kept %v", got.uids)
	}
}
