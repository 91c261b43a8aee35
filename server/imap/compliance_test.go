package imap

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

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

// dialRawTLS is dialRaw on the implicit-TLS listener, logged in as user.
func dialRawTLS(t testing.TB, ts *testServer, user string) *rawConn {
	t.Helper()
	c, err := tls.Dial("tcp", ts.tls, ts.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	rc := &rawConn{c: c, r: bufio.NewReader(c)}
	rc.line(t) // greeting
	if got := rc.cmd(t, "l", fmt.Sprintf("LOGIN %s %s", user, testUsers[user])); !strings.HasPrefix(got, "l OK") {
		t.Fatalf("login: %s", got)
	}
	return rc
}

// session sends a command and returns its untagged lines and tagged reply.
func (rc *rawConn) session(t testing.TB, tag, text string) ([]string, string) {
	t.Helper()
	fmt.Fprintf(rc.c, "%s %s\r\n", tag, text)
	var untagged []string
	for {
		l := rc.line(t)
		if strings.HasPrefix(l, tag+" ") {
			return untagged, l
		}
		untagged = append(untagged, l)
	}
}

func hasLine(lines []string, want string) bool {
	for _, l := range lines {
		if strings.EqualFold(l, want) {
			return true
		}
	}
	return false
}

// TestRecentInOneSession: \Recent follows RFC 3501 2.3.2. EXAMINE and
// STATUS show new messages as recent without taking them; the first
// SELECT takes them, so a second session sees none; a delivery is recent
// in the session that is told of it first.
func TestRecentInOneSession(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	seed(t, ts.store, user)
	a, b := dialRawTLS(t, ts, user), dialRawTLS(t, ts, user)

	lines, _ := a.session(t, "a1", "EXAMINE INBOX")
	if !hasLine(lines, "* 3 RECENT") {
		t.Errorf("EXAMINE: %q", lines)
	}
	a.cmd(t, "a2", "CLOSE")
	if lines, _ := b.session(t, "b1", "STATUS INBOX (RECENT)"); !hasLine(lines, `* STATUS INBOX (RECENT 3)`) {
		t.Errorf("STATUS before SELECT: %q", lines)
	}
	if lines, _ := a.session(t, "a3", "SELECT INBOX"); !hasLine(lines, "* 3 RECENT") {
		t.Errorf("first SELECT: %q", lines)
	}
	if lines, _ := b.session(t, "b2", "SELECT INBOX"); !hasLine(lines, "* 0 RECENT") {
		t.Errorf("second SELECT: %q", lines)
	}
	if lines, _ := b.session(t, "b3", "STATUS INBOX (RECENT)"); !hasLine(lines, `* STATUS INBOX (RECENT 0)`) {
		t.Errorf("STATUS after SELECT: %q", lines)
	}

	if err := ts.store.Deliver(user, "INBOX", []byte(msgFirst), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	lines, _ = a.session(t, "a4", "NOOP")
	for !hasLine(lines, "* 4 EXISTS") { // the delivery reaches the mailbox asynchronously
		time.Sleep(20 * time.Millisecond)
		lines, _ = a.session(t, "a4", "NOOP")
	}
	if !hasLine(lines, "* 4 RECENT") {
		t.Errorf("NOOP after a delivery: %q", lines)
	}
	if lines, _ := a.session(t, "a5", "SEARCH RECENT"); !hasLine(lines, "* SEARCH 1 2 3 4") {
		t.Errorf("SEARCH RECENT in the first session: %q", lines)
	}
	if lines, _ := a.session(t, "a6", "FETCH 4 FLAGS"); !hasLine(lines, `* 4 FETCH (FLAGS (\Recent))`) {
		t.Errorf("FETCH FLAGS: %q", lines)
	}
	b.cmd(t, "b4", "NOOP")
	if lines, _ := b.session(t, "b5", "SEARCH RECENT"); !hasLine(lines, "* SEARCH") {
		t.Errorf("SEARCH RECENT in the second session: %q", lines)
	}
}

// TestNewKeywordAnnounced: a keyword that appears through STORE is
// announced with FLAGS and PERMANENTFLAGS before the FETCH that shows it,
// to the session that stored it and to another one.
func TestNewKeywordAnnounced(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	seed(t, ts.store, user)
	a, b := dialRawTLS(t, ts, user), dialRawTLS(t, ts, user)
	a.cmd(t, "a1", "SELECT INBOX")
	b.cmd(t, "b1", "SELECT INBOX")
	want := []string{
		`* FLAGS (\Seen \Answered \Flagged \Deleted \Draft $Forwarded $Project)`,
		`* OK [PERMANENTFLAGS (\Seen \Answered \Flagged \Deleted \Draft $Forwarded $Project \*)] Permanent flags`,
	}
	lines, _ := a.session(t, "a2", "STORE 2 +FLAGS ($Project)")
	if len(lines) < 3 || lines[0] != want[0] || lines[1] != want[1] || !strings.Contains(lines[2], "$Project") {
		t.Errorf("STORE of a new keyword: %q", lines)
	}
	lines, _ = b.session(t, "b2", "NOOP")
	if len(lines) < 3 || lines[0] != want[0] || lines[1] != want[1] || !strings.Contains(lines[2], "$Project") {
		t.Errorf("the other session: %q", lines)
	}
	if lines, _ := a.session(t, "a3", "STORE 3 +FLAGS ($Project)"); len(lines) != 1 {
		t.Errorf("a keyword already announced is not announced again: %q", lines)
	}
}

// TestLsubParentsAndChildInfo: LSUB "%" lists the unsubscribed parent of
// a subscribed mailbox as \Noselect (RFC 3501 6.3.9); LIST (SUBSCRIBED
// RECURSIVEMATCH) gives it CHILDINFO (RFC 5258 3.5); plain LIST
// (SUBSCRIBED) does neither.
func TestLsubParentsAndChildInfo(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	rc := dialRawTLS(t, ts, "alice@example.org")
	rc.cmd(t, "c1", "CREATE Projects.2024")
	rc.cmd(t, "c2", "SUBSCRIBE Projects.2024")
	lines, _ := rc.session(t, "c3", `LSUB "" Projects%`)
	if len(lines) != 1 || lines[0] != `* LSUB (\Noselect) "." "Projects"` {
		t.Errorf("LSUB: %q", lines)
	}
	lines, _ = rc.session(t, "c4", `LIST (SUBSCRIBED RECURSIVEMATCH) "" Projects%`)
	if len(lines) != 1 || lines[0] != `* LIST (\HasChildren) "." "Projects" (CHILDINFO ("SUBSCRIBED"))` {
		t.Errorf("LIST RECURSIVEMATCH: %q", lines)
	}
	if lines, _ = rc.session(t, "c5", `LIST (SUBSCRIBED) "" Projects%`); len(lines) != 0 {
		t.Errorf("LIST (SUBSCRIBED): %q", lines)
	}
	lines, _ = rc.session(t, "c6", `LSUB "" Projects*`)
	if len(lines) != 1 || !strings.HasSuffix(lines[0], `"." "Projects.2024"`) {
		t.Errorf("LSUB *: %q", lines)
	}
}

// TestBinaryAppendRoundTrip: a part with Content-Transfer-Encoding:
// binary holding NUL and bare line feeds comes back byte for byte from
// BINARY[1] (and BINARY.SIZE counts those bytes), while BODY[1], a
// literal that may not carry NUL, gives it base64-encoded.
func TestBinaryAppendRoundTrip(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	c := ts.login(t, "alice@example.org", nil)
	body := "\x00-\xe4\n\r\n\n"
	raw := "From: user@domain.org\r\nMime-Version: 1.0\r\nContent-Type: application/octet-stream\r\n" +
		"Content-Transfer-Encoding: binary\r\n\r\n" + body
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	cmd.Write([]byte(raw))
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{
		BinarySection:     []*imap.FetchItemBinarySection{{Peek: true, Part: []int{1}}},
		BinarySectionSize: []*imap.FetchItemBinarySectionSize{{Part: []int{1}}},
		BodySection:       []*imap.FetchItemBodySection{{Peek: true, Part: []int{1}}},
	}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch: %v", err)
	}
	m := msgs[0]
	if len(m.BinarySection) != 1 || string(m.BinarySection[0].Bytes) != body {
		t.Errorf("BINARY[1] = %+v, want %q", m.BinarySection, body)
	}
	if len(m.BinarySectionSize) != 1 || m.BinarySectionSize[0].Size != uint32(len(body)) {
		t.Errorf("BINARY.SIZE[1] = %+v, want %d", m.BinarySectionSize, len(body))
	}
	if len(m.BodySection) != 1 {
		t.Fatal("no BODY[1]")
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(m.BodySection[0].Bytes)))
	if err != nil || string(dec) != body {
		t.Errorf("BODY[1] = %q (decoded %q, %v), want base64 of %q", m.BodySection[0].Bytes, dec, err, body)
	}
}

// TestFetchUIDOnlyWhenAsked: a FETCH or STORE answers with the UID when
// the command was a UID command or asked for it, and in every FETCH once
// QRESYNC is enabled (RFC 7162 section 3.2.4); not otherwise, as Dovecot
// answers (STORE 1:* sent 10,000 unasked UIDs).
func TestFetchUIDOnlyWhenAsked(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	seed(t, ts.store, user)
	rc := dialRawTLS(t, ts, user)
	rc.cmd(t, "s", "SELECT INBOX")
	for _, c := range []struct{ cmd, want string }{
		{"FETCH 1 FLAGS", `* 1 FETCH (FLAGS (`},
		{"FETCH 1 (UID FLAGS)", `* 1 FETCH (UID 1 FLAGS (`},
		{"UID FETCH 1 FLAGS", `* 1 FETCH (UID 1 FLAGS (`},
		{`STORE 1 +FLAGS (\Flagged)`, `* 1 FETCH (FLAGS (`},
		{`UID STORE 1 -FLAGS (\Flagged)`, `* 1 FETCH (UID 1 FLAGS (`},
		{"ENABLE QRESYNC", "* ENABLED QRESYNC"},
		{"FETCH 1 FLAGS", `* 1 FETCH (UID 1 FLAGS (`},
		{`STORE 1 +FLAGS (\Flagged)`, `* 1 FETCH (UID 1 FLAGS (`},
	} {
		lines, tagged := rc.session(t, "c", c.cmd)
		if !strings.HasPrefix(tagged, "c OK") {
			t.Fatalf("%s: %s", c.cmd, tagged)
		}
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, c.want)
		}
		if !found {
			t.Errorf("%s: %q, want a line starting %q", c.cmd, lines, c.want)
		}
	}
}
