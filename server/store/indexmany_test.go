package store

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A Maildir filled from outside (a migration: 100 files in new/) is
// indexed by several workers, yet the UIDs follow the delivery times
// (the order of sequence numbers is that of the names), with its own envelope and size, and is moved to cur/;
// an entry that cannot be read (a directory with a message's name) is
// skipped without losing the others.
func TestIndexManyFilesKeepsOrder(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	const user = "bob@example.org"
	const n = 100
	s.Deliver(user, "INBOX", []byte("Subject: first\r\n\r\nx\r\n"), "", time.Time{})
	m := inbox(t, s, user)
	dir := filepath.Join(data, "mail", "example.org", "bob")
	// Written in reverse, so that neither the directory order nor the
	// order of writing is the delivery order.
	for i := n - 1; i >= 0; i-- {
		body := fmt.Sprintf("Subject: outside %d\r\nFrom: <u%d@example.net>\r\n\r\n%s\r\n", i, i, make([]byte, i))
		if err := os.WriteFile(filepath.Join(dir, "new", fmt.Sprintf("%d.M%dP1.host", 1800000000+i, i)), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "cur", "1800000050.M999P1.host:2,"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(true); err != nil {
		t.Fatal(err)
	}
	err := m.View(func(msgs []*Message) error {
		if len(msgs) != n+1 {
			return fmt.Errorf("%d messages, want %d", len(msgs), n+1)
		}
		prev := msgs[0].UID
		for i, msg := range msgs[1:] {
			want := fmt.Sprintf("outside %d", i)
			wantSize := int64(len(fmt.Sprintf("Subject: outside %d\r\nFrom: <u%d@example.net>\r\n\r\n", i, i))) + int64(i) + 2
			if msg.UID <= prev || msg.Envelope().Subject != want || msg.Keys().Subject != want ||
				msg.Size() != wantSize || msg.sub != "cur" {
				return fmt.Errorf("message %d: uid %d subject %q size %d (want %d) in %s",
					i, msg.UID, msg.Envelope().Subject, msg.Size(), wantSize, msg.sub)
			}
			prev = msg.UID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(filepath.Join(dir, "new"))
	if len(left) != 0 {
		t.Fatalf("%d files left in new/", len(left))
	}
}
