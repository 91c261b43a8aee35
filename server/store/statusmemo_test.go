package store

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestStatusKeptUntilChange: the status a mailbox keeps between changes
// is the one counted afresh after every kind of change: flags and
// keywords set by STORE, a flag renamed from outside, an APPEND, an
// expunge, a delivery.
func TestStatusKeptUntilChange(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost", Rescan: time.Hour})
	m, box := deliverSeen(t, s, data, "alice@example.org", 5)
	check := func(step string) {
		t.Helper()
		got, err := m.Status()
		if err != nil {
			t.Fatal(err)
		}
		var want Status
		m.View(func(msgs []*Message) error {
			want = m.countStatus(msgs)
			return nil
		})
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: status %+v, counted %+v", step, got, want)
		}
	}
	check("first")
	if err := m.SetFlags([]uint32{1, 2}, '+', []string{`\Seen`, "Work"}, nil); err != nil {
		t.Fatal(err)
	}
	check("STORE +FLAGS")
	if err := m.SetFlags([]uint32{2}, '-', []string{"Work"}, nil); err != nil {
		t.Fatal(err)
	}
	check("STORE -FLAGS keyword")
	m.RenameFiles()
	names := curNames(t, box)
	old := filepath.Join(box, "cur", names[len(names)-1])
	if err := os.Rename(old, old+"ST"); err != nil { // mutt marks it seen and deleted
		t.Fatal(err)
	}
	if err := m.Sync(true); err != nil {
		t.Fatal(err)
	}
	check("outside rename")
	if st, _ := m.Status(); st.Deleted != 1 || st.Unseen != 2 {
		t.Fatalf("after the outside rename: %+v, want 1 deleted, 2 unseen", st)
	}
	if _, _, err := m.Append(msg(9), []string{"Later"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	check("APPEND")
	if _, err := m.Expunge(nil); err != nil {
		t.Fatal(err)
	}
	check("EXPUNGE")
	if err := s.Deliver("alice@example.org", "INBOX", msg(10), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	m.Sync(false)
	check("delivery")
	if st, _ := m.Status(); st.Messages != 6 {
		t.Fatalf("%d messages at the end, want 6", st.Messages)
	}
}
