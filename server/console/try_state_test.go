package console

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/rules"
)

// TestTryLeavesStateAlone: trying a message in the console counts
// against no rate limit of the live rule set and greylists nothing in
// the server's state; the real mail after the tries meets the limit as
// if they had never been.
func TestTryLeavesStateAlone(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "inbound.yaml"), []byte(`pipeline: inbound
rules:
  - name: one-an-hour
    when: rate_exceeded("per-ip", conn.ip, "1/h")
    action: tempfail
  - name: new-triplet
    when: msg.subject == "greylist me"
    action: greylist
`), 0o644)
	state := engine.NewMemoryState()
	set, err := rules.Load(dir, rules.Options{State: state})
	if err != nil {
		t.Fatal(err)
	}
	p := set.Pipeline(rules.Inbound)
	c := &Console{opts: Options{Pipeline: func(string) *engine.Pipeline { return p }}}
	try := tryInput{Message: "From: a@example.org\nSubject: hi\n\nhello\n", IP: "192.0.2.1", HELO: "mail.example.org",
		From: "a@example.org", To: "b@example.net", Pipeline: "inbound"}
	for i := range 3 {
		v, err := c.evaluate(context.Background(), try)
		if err != nil || v.Action != engine.ActionAccept {
			t.Fatalf("try %d: %+v, %v; want accept (a fresh count each time)", i, v, err)
		}
	}
	grey := try
	grey.Message = "From: a@example.org\nSubject: greylist me\n\nhello\n"
	for i := range 2 {
		if v, err := c.evaluate(context.Background(), grey); err != nil || v.Action != engine.ActionTempfail {
			t.Fatalf("greylist try %d: %+v, %v; want the first-try tempfail each time", i, v, err)
		}
	}
	// Real mail from that address: the first is under the limit.
	real := func() string {
		m := engine.NewMessage(engine.Envelope{IP: netip.MustParseAddr("192.0.2.1"), HELO: "mail.example.org", MailFrom: "a@example.org", Rcpt: []string{"b@example.net"}},
			[]byte("From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n"))
		return p.Begin(m).Evaluate(context.Background(), engine.PhaseData).Action
	}
	if got := real(); got != engine.ActionAccept {
		t.Fatalf("the first real message after three tries: %s, want accept", got)
	}
	if got := real(); got != engine.ActionTempfail {
		t.Fatalf("the second real message: %s, want the limit's tempfail (the state is the server's)", got)
	}
}
