package imap

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/sluicemail/sluice/server/store"
)

// TestFetchWholeBody: BODY[] is the message file byte for byte, bare line
// feeds turned into CRLF, as long as RFC822.SIZE says, even when its
// header would not parse; BODY[]<offset.size> is a slice of the same
// bytes (CRLF counted), empty past the end.
func TestFetchWholeBody(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	files := []string{
		"From: a@example.net\nSubject: folded\n\tsecond line\nX-Odd:  two  spaces \n\nbody\r\nmixed\n",
		"From: b@example.net\nthis line has no colon\n\nbody\n",
		// Larger than the connection's write buffer: written through
		// several flushes as its line ends are converted.
		"From: c@example.net\nSubject: long\n\n" + strings.Repeat("a line of a long message, a bare line feed at its end\n", 2000),
	}
	for _, f := range files {
		if err := ts.store.Deliver(user, "INBOX", []byte(f), "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	c := ts.login(t, user, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{RFC822Size: true, BodySection: []*imap.FetchItemBodySection{
		{Peek: true},
		{Peek: true, Partial: &imap.SectionPartial{Offset: 6, Size: 10}},
		{Peek: true, Partial: &imap.SectionPartial{Offset: 1000, Size: 10}},
	}}).Collect()
	if err != nil || len(msgs) != len(files) {
		t.Fatalf("fetch: %d messages, %v", len(msgs), err)
	}
	for i, m := range msgs {
		want := strings.ReplaceAll(strings.ReplaceAll(files[i], "\r\n", "\n"), "\n", "\r\n")
		if len(m.BodySection) != 3 {
			t.Fatalf("message %d: %d sections, want 3", i+1, len(m.BodySection))
		}
		if got := string(m.BodySection[0].Bytes); got != want {
			t.Errorf("message %d: BODY[] = %q, want %q", i+1, got, want)
		}
		if m.RFC822Size != int64(len(want)) {
			t.Errorf("message %d: RFC822.SIZE %d, BODY[] is %d bytes", i+1, m.RFC822Size, len(want))
		}
		if got := string(m.BodySection[1].Bytes); got != want[6:16] {
			t.Errorf("message %d: BODY[]<6.10> = %q, want %q", i+1, got, want[6:16])
		}
		wantFar := "" // past the end of the short ones
		if len(want) > 1000 {
			wantFar = want[1000:1010]
		}
		if got := string(m.BodySection[2].Bytes); got != wantFar {
			t.Errorf("message %d: BODY[]<1000.10> = %q, want %q", i+1, got, wantFar)
		}
	}
}
