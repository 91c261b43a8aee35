package store

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// A message's envelope is decoded once and shared by the copies of its
// Message that sessions take, stays right when its flags change (the
// Message is replaced by a changed copy), and is read back the same from
// the index after a restart.
func TestEnvelopeDecodedOnce(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	const user = "bob@example.org"
	if err := s.Deliver(user, "INBOX", []byte(keysMsg), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	m := inbox(t, s, user)
	envOf := func(m *Mailbox) (first, again, ofCopy *imap.Envelope) {
		m.View(func(msgs []*Message) error {
			first, again = msgs[0].Envelope(), msgs[0].Envelope()
			c := *msgs[0]
			ofCopy = c.Envelope()
			return nil
		})
		return
	}
	e1, e2, e3 := envOf(m)
	if e1 != e2 || e1 != e3 {
		t.Fatalf("envelope decoded again: %p %p %p", e1, e2, e3)
	}
	if e1.Subject != "Re: [list] Fwd: Mortgage  rates" || e1.MessageID != "abc@example.net" ||
		len(e1.From) != 1 || e1.From[0].Mailbox != "John.Doe" || e1.From[0].Host != "Example.NET" {
		t.Fatalf("envelope %+v", e1)
	}
	var uid uint32
	m.View(func(msgs []*Message) error { uid = msgs[0].UID; return nil })
	if err := m.SetFlags([]uint32{uid}, '+', []string{`\Seen`, "$label1"}, nil); err != nil {
		t.Fatal(err)
	}
	if f1, _, _ := envOf(m); f1 != e1 {
		t.Fatalf("envelope after a flag change decoded again or lost: %+v", f1)
	}

	s = reopen(t, s, data)
	r1, r2, _ := envOf(inbox(t, s, user))
	if r1 != r2 {
		t.Fatal("envelope from the index decoded on every call")
	}
	got, _ := json.Marshal(r1)
	want, _ := json.Marshal(e1)
	if string(got) != string(want) {
		t.Fatalf("envelope from the index\n got %s\nwant %s", got, want)
	}
}
