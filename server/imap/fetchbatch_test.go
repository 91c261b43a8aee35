package imap

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/sluicemail/sluice/server/store"
)

// A FETCH or STORE over many messages writes its responses without a
// flush per message (go-imap fork, imapserver/batch.go) and envelopes
// come from a memo (store/envmemo.go). With a real client: every
// response is there and right, before the tagged OK, twice (the second
// FETCH reads the memo), a STORE answers each message with its new flags,
// and afterwards nothing is held back: an IDLE on the same connection
// gets the EXISTS of a new delivery.
func TestFetchAllThenIdle(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	const n = 150 // about 30 KB of FETCH responses: many times go-imap's 4 KB buffer
	raws := make([]string, n)
	for i := range raws {
		raws[i] = fmt.Sprintf("From: Sender %d <s%d@example.net>\r\nTo: alice@example.org\r\n"+
			"Subject: message number %d\r\nMessage-ID: <%d@example.net>\r\n\r\n%s\r\n", i, i, i, i, string(make([]byte, i%7)))
		if err := ts.store.Deliver(user, "INBOX", []byte(raws[i]), "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	ev := newEvents()
	c := ts.login(t, user, ev)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	check := func(what string, wantFlag imap.Flag) {
		t.Helper()
		msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}},
			&imap.FetchOptions{UID: true, Flags: true, Envelope: true, RFC822Size: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != n {
			t.Fatalf("%s: %d FETCH responses, want %d", what, len(msgs), n)
		}
		for i, m := range msgs {
			e := m.Envelope
			if m.SeqNum != uint32(i+1) || e == nil || e.Subject != fmt.Sprintf("message number %d", i) ||
				len(e.From) != 1 || e.From[0].Name != fmt.Sprintf("Sender %d", i) || e.From[0].Addr() != fmt.Sprintf("s%d@example.net", i) ||
				e.MessageID != fmt.Sprintf("%d@example.net", i) || m.RFC822Size != int64(len(raws[i])) {
				t.Fatalf("%s: message %d: seq %d size %d envelope %+v", what, i+1, m.SeqNum, m.RFC822Size, e)
			}
			if wantFlag != "" && !slices.Contains(m.Flags, wantFlag) {
				t.Fatalf("%s: message %d flags %v, want %s", what, i+1, m.Flags, wantFlag)
			}
		}
	}
	check("first FETCH", "")
	check("second FETCH", "")

	stored, err := c.Store(imap.SeqSet{{Start: 1, Stop: 0}},
		&imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != n {
		t.Fatalf("STORE answered %d messages, want %d", len(stored), n)
	}
	for i, m := range stored {
		if !slices.Contains(m.Flags, imap.FlagFlagged) {
			t.Fatalf("STORE answer %d: flags %v", i+1, m.Flags)
		}
	}
	check("FETCH after STORE", imap.FlagFlagged)

	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.store.Deliver(user, "INBOX", []byte(msgFirst), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, ev.exists, "EXISTS in IDLE after a batched FETCH and STORE"); got != n+1 {
		t.Fatalf("EXISTS %d, want %d", got, n+1)
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
}
