package store

import (
	"slices"
	"testing"
	"time"
)

// Flag and keyword changes, written to the index as states beside the
// entries, survive a restart with their MODSEQs, and so does a state
// written before the entry itself was rewritten whole (fill after a
// STORE on a message not read yet).
func TestStateSurvivesRestart(t *testing.T) {
	data := t.TempDir()
	open := func(delay time.Duration) *Store { return openLazy(t, data, delay) }
	const user = "dave@example.org"
	const n = 20
	lazyMaildir(t, data, user, n)
	s := open(time.Hour)
	m := inbox(t, s, user)
	before, _ := copies(t, m)
	uids := []uint32{before[3].UID, before[4].UID}
	if err := m.SetFlags(uids, '+', []string{`\Seen`, `\Flagged`, "$Label1", "work"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.SetFlags(uids[:1], '-', []string{`\Flagged`, "work"}, nil); err != nil {
		t.Fatal(err)
	}
	want, _ := copies(t, m)
	s.Close()

	check := func(got []Message) {
		t.Helper()
		if len(got) != n {
			t.Fatalf("%d messages, want %d", len(got), n)
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.UID != w.UID || g.Flags != w.Flags || !slices.Equal(g.Keywords, w.Keywords) || g.ModSeq != w.ModSeq {
				t.Fatalf("message %d: uid %d flags %q keywords %v modseq %d; want uid %d flags %q keywords %v modseq %d",
					i, g.UID, g.Flags, g.Keywords, g.ModSeq, w.UID, w.Flags, w.Keywords, w.ModSeq)
			}
			if err := checkLazy(&g, i); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want[3].Flags != "S" || !slices.Equal(want[3].Keywords, []string{"$Label1"}) ||
		want[4].Flags != "FS" || !slices.Equal(want[4].Keywords, []string{"$Label1", "work"}) {
		t.Fatalf("before restart: %q %v, %q %v", want[3].Flags, want[3].Keywords, want[4].Flags, want[4].Keywords)
	}

	s = open(0) // fill writes whole entries this time
	m = inbox(t, s, user)
	got, _ := copies(t, m)
	check(got)
	waitFilled(t, m)
	s.Close()

	s = open(time.Hour)
	defer s.Close()
	got, lazy := copies(t, inbox(t, s, user))
	if lazy != 0 {
		t.Fatalf("%d messages without content after fill", lazy)
	}
	check(got)
}
