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
	m := keysInbox(t, s)
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

// The encoded envelope is made once per mode and shared by copies; the
// bytes are what encode gave for this message's envelope.
func TestEncodedEnvelopeKept(t *testing.T) {
	s, _ := openTest(t, Options{Hostname: "testhost"})
	m := keysInbox(t, s)
	calls := 0
	encode := func(mode string) func(*imap.Envelope) []byte {
		return func(env *imap.Envelope) []byte {
			calls++
			return []byte(mode + ":" + env.Subject)
		}
	}
	m.View(func(msgs []*Message) error {
		c := *msgs[0]
		for i, got := range []string{
			string(msgs[0].EncodedEnvelope(false, encode("ascii"))),
			string(c.EncodedEnvelope(false, encode("ascii"))),
			string(msgs[0].EncodedEnvelope(true, encode("utf8"))),
			string(c.EncodedEnvelope(true, encode("utf8"))),
		} {
			want := "ascii:Re: [list] Fwd: Mortgage  rates"
			if i >= 2 {
				want = "utf8:Re: [list] Fwd: Mortgage  rates"
			}
			if got != want {
				t.Errorf("call %d: %q, want %q", i, got, want)
			}
		}
		return nil
	})
	if calls != 2 {
		t.Fatalf("encoded %d times for 2 modes, want 2", calls)
	}
}

// A message indexed lazily keeps its encoded envelope when fill settles
// it: settling moves the file, not the content.
func TestEncodedEnvelopeKeptThroughSettle(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	s.lazyFrom, s.fillDelay = 10, time.Hour // fill never runs by itself
	const user = "bob@example.org"
	lazyMaildir(t, data, user, 12)
	m := inbox(t, s, user)
	calls := 0
	encode := func(env *imap.Envelope) []byte {
		calls++
		return []byte(env.Subject)
	}
	var first string
	var batch []*lazyContent
	m.View(func(msgs []*Message) error {
		first = string(msgs[0].EncodedEnvelope(false, encode))
		for _, msg := range msgs {
			batch = append(batch, msg.lazy)
		}
		return nil
	})
	m.mu.Lock()
	err := m.settle(batch, neverInterrupted)
	m.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	m.View(func(msgs []*Message) error {
		if msgs[0].lazy != nil {
			t.Fatal("message still lazy after settle")
		}
		if again := string(msgs[0].EncodedEnvelope(false, encode)); again != first || first == "" {
			t.Errorf("encoded envelope after settle %q, before %q", again, first)
		}
		return nil
	})
	if calls != 1 {
		t.Fatalf("encoded %d times, want once", calls)
	}
}
