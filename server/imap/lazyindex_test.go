package imap

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/sluicemail/sluice/server/store"
)

// A Maildir of 300 files never indexed (more than the store indexes
// eagerly, store/lazy.go) answers SELECT from the file names, then
// SEARCH, SORT and FETCH sent at once, while the store still reads the
// files, with the answers a fully indexed mailbox gives.
func TestLazyIndexAnswersWhileIndexing(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	const n = 300
	dir := filepath.Join(ts.data, "mail", "example.org", "alice")
	for _, sub := range []string{"new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	internal := func(i int) time.Time { return time.Unix(1700000000+int64(i)*3600, 0).UTC() }
	sent := func(i int) time.Time { return time.Unix(1600000000+int64((i*7)%n)*60, 0).UTC() }
	body := func(i int) string {
		return fmt.Sprintf("Subject: lazy-%03d\nFrom: <u%d@example.net>\nDate: %s\n\n%s\n",
			i, i, sent(i).Format(time.RFC1123Z), make([]byte, i))
	}
	for i := n - 1; i >= 0; i-- {
		path := filepath.Join(dir, "new", fmt.Sprintf("%d.M%dP1.host", 1800000000+i, i))
		if err := os.WriteFile(path, []byte(body(i)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, internal(i), internal(i)); err != nil {
			t.Fatal(err)
		}
	}
	size := func(i int) int64 { return int64(len(body(i))) + 5 } // five bare LFs become CRLF

	c := ts.login(t, user, nil)
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != n {
		t.Fatalf("SELECT: %d messages, want %d", sel.NumMessages, n)
	}
	// Pipelined, so that they run before the store has read every file.
	subject := c.Search(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "lazy-123"}}}, nil)
	larger := c.Search(&imap.SearchCriteria{Larger: size(n - 11)}, nil)
	since := c.Search(&imap.SearchCriteria{Since: internal(n - 48)}, nil)
	sorted := c.Sort(&imapclient.SortOptions{SearchCriteria: &imap.SearchCriteria{},
		SortCriteria: []imapclient.SortCriterion{{Key: imapclient.SortKeyDate}}})
	fetch := c.Fetch(imap.SeqSet{{Start: 1, Stop: n}}, &imap.FetchOptions{Envelope: true, RFC822Size: true, InternalDate: true})

	got, err := subject.Wait()
	if err != nil || !slices.Equal(got.AllSeqNums(), []uint32{124}) {
		t.Fatalf("SEARCH HEADER Subject: %v, %v; want [124]", got.AllSeqNums(), err)
	}
	got, err = larger.Wait()
	if want := []uint32{291, 292, 293, 294, 295, 296, 297, 298, 299, 300}; err != nil || !slices.Equal(got.AllSeqNums(), want) {
		t.Fatalf("SEARCH LARGER: %v, %v; want %v", got.AllSeqNums(), err, want)
	}
	got, err = since.Wait()
	day := internal(n - 48).Truncate(24 * time.Hour) // SINCE compares days (UTC)
	var wantSince []uint32
	for i := range n {
		if !internal(i).Before(day) {
			wantSince = append(wantSince, uint32(i+1))
		}
	}
	if err != nil || !slices.Equal(got.AllSeqNums(), wantSince) {
		t.Fatalf("SEARCH SINCE: %v, %v; want %v", got.AllSeqNums(), err, wantSince)
	}
	order, err := sorted.Wait()
	if err != nil {
		t.Fatal(err)
	}
	want := make([]uint32, n)
	for i := range want {
		want[i] = uint32(i + 1)
	}
	slices.SortStableFunc(want, func(a, b uint32) int { return sent(int(a - 1)).Compare(sent(int(b - 1))) })
	if !slices.Equal(order, want) {
		t.Fatalf("SORT (DATE): %v..., want %v...", order[:10], want[:10])
	}
	msgs, err := fetch.Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != n {
		t.Fatalf("FETCH: %d messages, want %d", len(msgs), n)
	}
	for _, m := range msgs {
		i := int(m.SeqNum) - 1
		if m.Envelope == nil || m.Envelope.Subject != fmt.Sprintf("lazy-%03d", i) || m.RFC822Size != size(i) ||
			!m.InternalDate.Equal(internal(i)) || !m.Envelope.Date.Equal(sent(i)) {
			t.Fatalf("FETCH %d: %+v size %d date %v", m.SeqNum, m.Envelope, m.RFC822Size, m.InternalDate)
		}
	}
}
