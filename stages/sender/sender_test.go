package sender

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
)

func TestBookAddAndKnown(t *testing.T) {
	b, err := OpenBook(filepath.Join(t.TempDir(), "senders.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Add("Alice@Example.NET", "Bob <BOB@remote.example>", "not an address", ""); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user, addr string
		want       bool
	}{
		{"alice@example.net", "bob@remote.example", true},
		{"ALICE@example.net", "<Bob@Remote.Example>", true}, // case and brackets do not matter
		{"alice@example.net", "Robert <bob@remote.example>", true},
		{"carol@example.net", "bob@remote.example", false}, // per user
		{"alice@example.net", "eve@remote.example", false},
		{"alice@example.net", "", false},
	} {
		if got, err := b.Known(c.user, c.addr); err != nil || got != c.want {
			t.Errorf("Known(%q, %q) = %v, %v; want %v", c.user, c.addr, got, err, c.want)
		}
	}
}

func TestOpenBookSharesPerPath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "senders.db")
	a, err := OpenBook(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenBook(p)
	if err != nil || a != b {
		t.Fatalf("a second open of the same file: %v, same book %v", err, a == b)
	}
}

func TestFromOf(t *testing.T) {
	raw := []byte("From: \"News\" <News@Outfitter.example>\r\nSubject: x\r\n\r\nbody\r\n")
	if got := FromOf(raw); got != "news@outfitter.example" {
		t.Errorf("FromOf = %q", got)
	}
	if got := FromOf([]byte("garbage without a header end")); got != "" {
		t.Errorf("FromOf(garbage) = %q", got)
	}
}

// run evaluates a rule on sender.known through a pipeline with the stage.
func run(t *testing.T, st engine.Stage, env engine.Envelope, raw string) bool {
	t.Helper()
	when, err := engine.Compile(`sender.known`, true)
	if err != nil {
		t.Fatal(err)
	}
	p := &engine.Pipeline{Name: "inbound", Stages: map[string]engine.Stage{"sender": st},
		Rules: []*engine.Rule{{Name: "known", When: when, Score: -5}}}
	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	tx := p.Begin(engine.NewMessage(env, []byte(raw)))
	if v := tx.Evaluate(context.Background(), engine.PhaseData); v.Err != nil {
		t.Fatal(v.Err)
	}
	return tx.Facts().Sender.Known
}

func TestStageKnownByFromOrEnvelope(t *testing.T) {
	dir := t.TempDir()
	st, err := stages.New("sender", stages.Settings{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := OpenBook(filepath.Join(dir, DefaultBookFile))
	if err := b.Add("alice@example.net", "friend@remote.example"); err != nil {
		t.Fatal(err)
	}
	msg := func(from string) string { return "From: " + from + "\r\nSubject: hi\r\n\r\nhello\r\n" }
	env := func(mailFrom string, rcpt ...string) engine.Envelope {
		return engine.Envelope{MailFrom: mailFrom, Rcpt: rcpt}
	}
	cases := []struct {
		name string
		env  engine.Envelope
		raw  string
		want bool
	}{
		{"From header known", env("bounce@list.example", "alice@example.net"), msg("Friend <friend@remote.example>"), true},
		{"envelope sender known", env("friend@remote.example", "alice@example.net"), msg("someone@else.example"), true},
		{"one of two recipients knows", env("friend@remote.example", "bob@example.net", "alice@example.net"), msg("x@y.example"), true},
		{"stranger", env("eve@remote.example", "alice@example.net"), msg("eve@remote.example"), false},
		{"known to another user only", env("friend@remote.example", "bob@example.net"), msg("friend@remote.example"), false},
	}
	for _, c := range cases {
		if got := run(t, st, c.env, c.raw); got != c.want {
			t.Errorf("%s: sender.known = %v, want %v", c.name, got, c.want)
		}
	}
	// A dry run without a data directory knows nobody.
	dry, err := stages.New("sender", stages.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if run(t, dry, env("friend@remote.example", "alice@example.net"), msg("friend@remote.example")) {
		t.Error("a dry run knew a sender")
	}
	if _, err := stages.New("sender", stages.Settings{Raw: []byte("bogus: 1\n"), DataDir: dir}); err == nil {
		t.Error("an unknown setting was accepted")
	}
}

// TestBookConcurrent is for -race: submissions add while deliveries look up.
func TestBookConcurrent(t *testing.T) {
	b, err := OpenBook(filepath.Join(t.TempDir(), "senders.db"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if g%2 == 0 {
					b.Add("alice@example.net", "x@remote.example")
				} else if _, err := b.Known("alice@example.net", "x@remote.example"); err != nil {
					t.Error(err)
				}
				_ = i
			}
		}()
	}
	wg.Wait()
	if ok, _ := b.Known("alice@example.net", "x@remote.example"); !ok {
		t.Error("the address added concurrently is unknown")
	}
}
