package sender

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
	bolt "go.etcd.io/bbolt"
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
	st, err := stages.New("sender", stages.Settings{DataDir: dir, Learn: true})
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

// writeBook writes a book file as another process would (not through
// this process's shared Book), with user knowing addr.
func writeBook(t *testing.T, path, user, addr string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists([]byte(user))
		if err != nil {
			return err
		}
		return bk.Put([]byte(addr), []byte{0, 0, 0, 0, 0, 0, 0, 1})
	}); err != nil {
		t.Fatal(err)
	}
}

// TestDryRunReadsBook: a dry run given the data directory (sluice check
// --data, a shadow set) reads the server's book without writing it,
// creates none where there is none, and when the running server holds
// the book's lock it goes on with nobody known instead of failing.
func TestDryRunReadsBook(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultBookFile)
	writeBook(t, path, "alice@example.net", "friend@remote.example")
	before, _ := os.ReadFile(path)
	dry, err := stages.New("sender", stages.Settings{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	env := engine.Envelope{MailFrom: "friend@remote.example", Rcpt: []string{"alice@example.net"}}
	if !run(t, dry, env, "From: friend@remote.example\r\n\r\nhi\r\n") {
		t.Error("the dry run did not read the book")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the dry run changed the book")
	}

	empty := t.TempDir()
	if _, err := stages.New("sender", stages.Settings{DataDir: empty}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(empty, DefaultBookFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the dry run created a book: %v", err)
	}

	// The server holds the book: bbolt's exclusive lock on the file.
	busy := t.TempDir()
	bpath := filepath.Join(busy, DefaultBookFile)
	writeBook(t, bpath, "alice@example.net", "friend@remote.example")
	f, err := os.Open(bpath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	held, err := stages.New("sender", stages.Settings{DataDir: busy})
	if err != nil {
		t.Fatalf("a dry run beside the running server failed: %v", err)
	}
	if took := time.Since(start); took > 5*lookTimeout {
		t.Errorf("the dry run waited %v for the lock", took)
	}
	if run(t, held, env, "From: friend@remote.example\r\n\r\nhi\r\n") {
		t.Error("a book it could not read knew a sender")
	}
}
