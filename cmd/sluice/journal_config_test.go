package main

import (
	"strings"
	"testing"

	"github.com/sluicemail/sluice/server/journal"
)

// The journal: keys reach the writer: with keep_bodies below the
// message's size the record keeps the header and digest only (by
// default, TestJournalExplainReplay, the copy is kept).
func TestJournalConfigKeepBodies(t *testing.T) {
	js := startJournalServer(t, journalInbound, "journal: {max_age: 7d, max_size: 100MB, keep_bodies: 16}\n")
	if err := js.sendFrom("127.0.0.2", "s@example.org", "meeting notes", "k1@e2e.test"); err != nil {
		t.Fatal(err)
	}
	recs, err := journal.Find(journalDir(js.in.cfg), journal.Query{Key: "k1@e2e.test"}, nil)
	if err != nil || len(recs) != 1 || recs[0].Stored == nil {
		t.Fatalf("records: %v %+v", err, recs)
	}
	if st := recs[0].Stored; st.Body != nil || st.Header == "" || st.Size <= 16 {
		t.Errorf("keep_bodies 16: stored %+v", st)
	}
}

// keep_bodies: 0 keeps no copy of any message, however small (it used
// to mean the default, 10MB); the record still has the header.
func TestJournalConfigNoBodies(t *testing.T) {
	js := startJournalServer(t, journalInbound, "journal: {keep_bodies: 0}\n")
	if err := js.sendFrom("127.0.0.2", "s@example.org", "meeting notes", "k0@e2e.test"); err != nil {
		t.Fatal(err)
	}
	recs, err := journal.Find(journalDir(js.in.cfg), journal.Query{Key: "k0@e2e.test"}, nil)
	if err != nil || len(recs) != 1 || recs[0].Stored == nil {
		t.Fatalf("records: %v %+v", err, recs)
	}
	if st := recs[0].Stored; st.Body != nil || !strings.Contains(st.Header, "meeting notes") {
		t.Errorf("keep_bodies 0: stored %+v", st)
	}
}
