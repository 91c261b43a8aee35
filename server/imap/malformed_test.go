package imap

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/sluicemail/sluice/server/store"
)

// TestMalformedMessages: the malformed and edge-case MIME messages of
// the shared conformance data (testdata/mime), plus NUL bytes and bare CR,
// are indexed and served, item by item, without failing a command or
// the connection.
func TestMalformedMessages(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	files, _ := filepath.Glob("../../engine/testdata/mime/*/*.eml")
	if len(files) < 30 {
		t.Fatalf("only %d test messages", len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := ts.store.Deliver(user, "INBOX", raw, "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	odd := []string{"Subject: nul\x00byte\r\n\r\nbody\x00\x00\r\n", "Subject: bare\rcr\r\n\r\nline\ronly\r\n", "no header at all", ""}
	for _, raw := range odd {
		ts.store.Deliver(user, "INBOX", []byte(raw), "", time.Time{})
	}
	c := ts.login(t, user, nil)
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages < uint32(len(files)+3) {
		t.Fatalf("%d messages indexed of %d", sel.NumMessages, len(files)+len(odd))
	}
	all := imap.SeqSet{{Start: 1, Stop: 0}}
	items := []*imap.FetchOptions{
		{Flags: true, Envelope: true, RFC822Size: true, InternalDate: true, UID: true},
		{BodyStructure: &imap.FetchItemBodyStructure{Extended: true}},
		{BodySection: []*imap.FetchItemBodySection{{Peek: true}}},
		{BodySection: []*imap.FetchItemBodySection{{Peek: true, Specifier: imap.PartSpecifierHeader}, {Peek: true, Part: []int{1}}, {Peek: true, Part: []int{2, 1}, Specifier: imap.PartSpecifierMIME}}},
		{BinarySection: []*imap.FetchItemBinarySection{{Peek: true, Part: []int{1}}}, BinarySectionSize: []*imap.FetchItemBinarySectionSize{{Part: []int{1}}}},
	}
	for i, o := range items {
		msgs, err := c.Fetch(all, o).Collect()
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		if len(msgs) != int(sel.NumMessages) {
			t.Errorf("fetch %d: %d of %d messages", i, len(msgs), sel.NumMessages)
		}
	}
	for _, crit := range []*imap.SearchCriteria{
		{Text: []string{"boundary"}},
		{Body: []string{"part"}},
		{Header: []imap.SearchCriteriaHeaderField{{Key: "Content-Type", Value: "multipart"}}},
		{SentSince: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := c.Search(crit, nil).Wait(); err != nil {
			t.Errorf("search %+v: %v", crit, err)
		}
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatalf("connection broken: %v", err)
	}
}
