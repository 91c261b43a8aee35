package imap

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/sluicemail/sluice/server/store"
)

// TestFetchBodiesReadAhead: a FETCH of many bodies (read ahead of the
// answer, readahead.go) gives every message's own bytes in order, with
// messages too large to be read ahead among them and one message expunged
// by another session while it runs; and a client that hangs up in the
// middle leaves the session's readers stopped, not blocked.
func TestFetchBodiesReadAhead(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	var want []string
	for i := range 40 {
		body := fmt.Sprintf("message %d\r\n", i)
		switch i {
		case 7, 23: // larger than aheadMaxSize: read when its turn comes
			body = strings.Repeat(fmt.Sprintf("large message %d line\r\n", i), aheadMaxSize/20+1)
		}
		raw := fmt.Sprintf("Subject: m%d\r\n\r\n%s", i, body)
		if err := ts.store.Deliver(user, "INBOX", []byte(raw), "", time.Time{}); err != nil {
			t.Fatal(err)
		}
		want = append(want, raw)
	}
	c := ts.login(t, user, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	body := &imap.FetchItemBodySection{Peek: true}
	all := imap.SeqSet{{Start: 1, Stop: 0}}
	msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		if got := m.FindBodySection(body); !bytes.Equal(got, []byte(want[i])) {
			t.Errorf("message %d: %d bytes, not its own %d", i+1, len(got), len(want[i]))
		}
	}

	// Another session expunges message 10 while this one fetches them
	// all; the one that went is left out, the others are whole.
	other := ts.login(t, user, nil)
	if _, err := other.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := other.Store(imap.UIDSetNum(msgs[9].UID), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	cmd := c.Fetch(all, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{body}})
	if err := other.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	got, err := cmd.Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range got {
		i := int(m.UID) - int(msgs[0].UID)
		if m.UID == msgs[9].UID {
			continue // answered before the expunge
		}
		if b := m.FindBodySection(body); !bytes.Equal(b, []byte(want[i])) {
			t.Errorf("UID %d after the expunge: %d bytes, not its own", m.UID, len(b))
		}
	}

	// A client that hangs up in the middle of a large FETCH: the
	// session's goroutines, its readers among them, all end.
	before := runtime.NumGoroutine()
	rc := dialRawTLS(t, ts, user)
	rc.cmd(t, "s", "SELECT INBOX")
	fmt.Fprintf(rc.c, "f FETCH 1:* BODY.PEEK[]\r\n")
	rc.line(t)
	rc.c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the client hung up, %d before it came:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
	c2 := ts.login(t, user, nil)
	sel, err := c2.Select("INBOX", nil).Wait()
	if err != nil || sel.NumMessages != uint32(len(want)-1) {
		t.Fatalf("after the hang-up: %v, %d messages", err, sel.NumMessages)
	}
}
