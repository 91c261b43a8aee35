package imap

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/sluicemail/sluice/server/store"
)

// TestIDAndUnknownCommandsBeforeLogin: ID is answered before login, a
// stray unknown command gets BAD without losing the connection, and only
// a run of them (another protocol talking to the port) closes it.
func TestIDAndUnknownCommandsBeforeLogin(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	rc := dialRaw(t, ts.plain, "")
	fmt.Fprintf(rc.c, "a1 ID (\"name\" \"test\" \"version\" NIL)\r\n")
	if l := rc.line(t); l != `* ID ("name" "sluice")` {
		t.Errorf("ID answer: %q", l)
	}
	if l := rc.line(t); !strings.HasPrefix(l, "a1 OK") {
		t.Errorf("ID: %q", l)
	}
	if got := rc.cmd(t, "a2", "ID NIL"); !strings.HasPrefix(got, "a2 OK") {
		t.Errorf("ID NIL: %s", got)
	}
	if got := rc.cmd(t, "a3", "XUNKNOWN"); !strings.HasPrefix(got, "a3 BAD") {
		t.Errorf("unknown command: %s", got)
	}
	if got := rc.cmd(t, "a4", "NOOP"); !strings.HasPrefix(got, "a4 OK") {
		t.Errorf("after one unknown command: %s", got)
	}
	rc.cmd(t, "a5", "XUNKNOWN")
	rc.cmd(t, "a6", "GET / HTTP/1.1")
	for {
		l, err := rc.r.ReadString('\n')
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after three unknown commands: %v", err)
		}
		if strings.HasPrefix(l, "a") {
			t.Fatalf("connection still answering after three unknown commands: %q", l)
		}
	}

	// The go-imap client (as i15's importer uses it) reads the answer.
	c := ts.login(t, "alice@example.org", nil)
	id, err := c.ID(&imap.IDData{Name: "go-imap"}).Wait()
	if err != nil || id.Name != "sluice" {
		t.Errorf("ID after login: %+v, %v", id, err)
	}
}

// TestMoveWithinMailbox: MOVE to the selected mailbox itself renumbers
// the messages (new UIDs, COPYUID), as RFC 6851 allows, instead of
// failing.
func TestMoveWithinMailbox(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	seed(t, ts.store, "alice@example.org")
	c := ts.login(t, "alice@example.org", nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	data, err := c.Move(imap.SeqSetNum(1), "INBOX").Wait()
	if err != nil {
		t.Fatalf("MOVE to the same mailbox: %v", err)
	}
	if got := data.DestUIDs.String(); got != "4" || data.SourceUIDs.String() != "1" {
		t.Errorf("COPYUID %v -> %v, want 1 -> 4", data.SourceUIDs, data.DestUIDs)
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, fmt.Sprintf("%d:%s", m.UID, m.Envelope.Subject))
	}
	if want := "2:second message 3:with attachment 4:first message"; strings.Join(got, " ") != want {
		t.Errorf("after MOVE: %s, want %s", strings.Join(got, " "), want)
	}
}
