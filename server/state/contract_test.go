package state

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/state/redistest"
	bolt "go.etcd.io/bbolt"
)

// clock is a settable time shared by a store under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// storeMaker builds a fresh store reading time from now.
type storeMaker func(t *testing.T, now func() time.Time) Store

// testContract runs the behaviour every Store must share, so that a node on
// the data directory and nodes on Redis decide alike.
func testContract(t *testing.T, mk storeMaker) {
	t.Run("rate", func(t *testing.T) { testRate(t, mk) })
	t.Run("greylist", func(t *testing.T) { testGreylist(t, mk) })
	t.Run("bans", func(t *testing.T) { testBans(t, mk) })
}

func testRate(t *testing.T, mk storeMaker) {
	c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	s := mk(t, c.now)
	ctx := context.Background()
	lim := engine.Rate{Count: 3, Per: time.Hour}
	hit := func(key string, n int) (int, bool) {
		t.Helper()
		count, ex, err := s.RateHit(ctx, key, lim, n)
		if err != nil {
			t.Fatal(err)
		}
		return count, ex
	}
	for i := 1; i <= 3; i++ {
		if n, ex := hit("k", 1); n != i || ex {
			t.Fatalf("hit %d: count %d exceeded %v", i, n, ex)
		}
	}
	if n, ex := hit("k", 1); n != 3 || !ex {
		t.Fatalf("4th hit: count %d exceeded %v, want 3 true", n, ex)
	}
	if n, ex := hit("other", 2); n != 2 || ex {
		t.Fatalf("other key: %d %v", n, ex)
	}
	if _, ex := hit("other", 2); !ex {
		t.Fatalf("other key 2+2 against 3: not exceeded")
	}
	// Half-way through the next window, half of the previous one still
	// counts: 3*0.5 = 1 (rounded down), so two more pass and a third not.
	c.add(90 * time.Minute)
	if n, ex := hit("k", 1); n != 2 || ex {
		t.Fatalf("next window, half-way: count %d exceeded %v, want 2 false", n, ex)
	}
	hit("k", 1)
	if _, ex := hit("k", 1); !ex {
		t.Fatalf("sliding window let a 4th through")
	}
	c.add(3 * time.Hour)
	if n, ex := hit("k", 1); n != 1 || ex {
		t.Fatalf("hours later: %d %v, want a fresh count", n, ex)
	}
}

func testGreylist(t *testing.T, mk storeMaker) {
	c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	s := mk(t, c.now)
	ctx := context.Background()
	set := engine.GreylistSettings{Delay: 5 * time.Minute, Window: time.Hour, PassAfter: 2}.WithDefaults()
	try := func(net, from string, pass bool, reason string) {
		t.Helper()
		res, err := s.Greylist(ctx, engine.Triplet{Network: net, Sender: from, Rcpt: "bob@example.org"}, set)
		if err != nil {
			t.Fatal(err)
		}
		if res.Pass != pass || res.Reason != reason {
			t.Fatalf("%s %s: %+v, want pass %v reason %s", net, from, res, pass, reason)
		}
	}
	try("192.0.2.0/24", "a@x", false, engine.GreylistNew)
	c.add(2 * time.Minute)
	try("192.0.2.0/24", "a@x", false, engine.GreylistEarly)
	c.add(4 * time.Minute)
	try("192.0.2.0/24", "a@x", true, engine.GreylistPassed)
	try("192.0.2.0/24", "a@x", true, engine.GreylistKnown)
	try("192.0.2.0/24", "b@x", false, engine.GreylistNew)
	c.add(6 * time.Minute)
	try("192.0.2.0/24", "b@x", true, engine.GreylistPassed)
	try("192.0.2.0/24", "c@x", true, engine.GreylistNetwork)
	try("198.51.100.0/24", "c@x", false, engine.GreylistNew)
	c.add(2 * time.Hour)
	try("198.51.100.0/24", "c@x", false, engine.GreylistNew)
}

func testBans(t *testing.T, mk storeMaker) {
	c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	s := mk(t, c.now)
	ctx := context.Background()
	banned := func(ip string) bool {
		t.Helper()
		b, err := s.Banned(ctx, ip)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for i := 0; i < 2; i++ {
		if err := s.AuthFailed(ctx, "192.0.2.1", 3, 15*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if banned("192.0.2.1") {
		t.Fatal("banned after 2 of 3 failures")
	}
	s.AuthFailed(ctx, "192.0.2.1", 3, 15*time.Minute)
	if !banned("192.0.2.1") || banned("192.0.2.2") {
		t.Fatal("3 failures: want 192.0.2.1 banned, and only it")
	}
}

// openEmbedded opens an embedded store in a temporary directory that
// reads the time from now, closed when the test ends.
func openEmbedded(t *testing.T, now func() time.Time) *Embedded {
	t.Helper()
	e, err := OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e.now = now
	t.Cleanup(func() { e.Close() })
	return e
}

func TestEmbedded(t *testing.T) {
	testContract(t, func(t *testing.T, now func() time.Time) Store { return openEmbedded(t, now) })
}

// TestEmbeddedSurvivesRestart: counters and greylist entries are on disk.
func TestEmbeddedSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	lim := engine.Rate{Count: 1, Per: time.Hour}
	e, err := OpenEmbedded(dir)
	if err != nil {
		t.Fatal(err)
	}
	e.RateHit(ctx, "k", lim, 1)
	e.AuthFailed(ctx, "192.0.2.9", 1, time.Hour)
	e.Close()
	e, err = OpenEmbedded(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, ex, _ := e.RateHit(ctx, "k", lim, 1); !ex {
		t.Fatal("the counter was lost in a restart")
	}
	if b, _ := e.Banned(ctx, "192.0.2.9"); !b {
		t.Fatal("the ban was lost in a restart")
	}
}

// TestEmbeddedSweep deletes expired records and keeps live ones.
func TestEmbeddedSweep(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	e := openEmbedded(t, c.now)
	ctx := context.Background()
	e.RateHit(ctx, "short", engine.Rate{Count: 5, Per: time.Minute}, 1)
	e.RateHit(ctx, "long", engine.Rate{Count: 5, Per: 24 * time.Hour}, 1)
	c.add(time.Hour)
	if err := e.sweep(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	e.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRate).ForEach(func(k, v []byte) error { keys = append(keys, string(k)); return nil })
	})
	if len(keys) != 1 || keys[0] != "long" {
		t.Fatalf("after sweep: %v, want [long]", keys)
	}
}

// TestRedisContract runs the contract on miniredis (an in-process Redis
// with Lua), so the scripts are checked on every run; the real redis-server
// runs them in TestTwoNodes (server/smtp) and TestRedisServer.
func TestRedisContract(t *testing.T) {
	testContract(t, func(t *testing.T, now func() time.Time) Store {
		m := miniredis.RunT(t)
		r := OpenRedis(RedisOptions{Addr: m.Addr()})
		r.now = now
		t.Cleanup(func() { r.Close() })
		return r
	})
}

// TestRedisDown: a Redis that does not answer fails fast, within the
// context, and a Redis that comes back is used again.
func TestRedisDown(t *testing.T) {
	m := miniredis.RunT(t)
	r := OpenRedis(RedisOptions{Addr: m.Addr(), Timeout: 200 * time.Millisecond})
	defer r.Close()
	ctx := context.Background()
	lim := engine.Rate{Count: 5, Per: time.Hour}
	if _, _, err := r.RateHit(ctx, "k", lim, 1); err != nil {
		t.Fatal(err)
	}
	m.Close()
	ctx2, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, _, err := r.RateHit(ctx2, "k", lim, 1); err == nil {
		t.Fatal("no error with Redis down")
	}
	if _, err := r.Greylist(ctx2, engine.Triplet{Network: "n"}, engine.GreylistSettings{}.WithDefaults()); err == nil {
		t.Fatal("greylist: no error with Redis down")
	}
	if ctx2.Err() != nil {
		t.Fatal("the calls took the whole context: they must fail at the client's timeout")
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	if n, _, err := r.RateHit(ctx, "k", lim, 1); err != nil || n != 2 {
		t.Fatalf("after Redis returned: %d %v, want the count on (miniredis keeps its data)", n, err)
	}
}

// TestRedisServer runs the contract on a real redis-server: the Lua
// scripts as Redis itself runs them.
func TestRedisServer(t *testing.T) {
	testContract(t, func(t *testing.T, now func() time.Time) Store {
		srv := redistest.Start(t)
		r := OpenRedis(RedisOptions{Addr: srv.Addr})
		r.now = now
		t.Cleanup(func() { r.Close() })
		return r
	})
}

// TestEmbeddedInUse: a second opener of the same data directory gets a
// clear error, not a hang.
func TestEmbeddedInUse(t *testing.T) {
	dir := t.TempDir()
	e, err := OpenEmbedded(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := OpenEmbedded(dir); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v, want an in-use error", err)
	}
}

// TestGreylistRetention: a passed triplet and a network's passes are kept
// 35 days (engine.DefaultGreylistKeep) from their last use, on the data
// directory and on Redis (which expires them itself); past that the
// triplet is greylisted again.
func TestGreylistRetention(t *testing.T) {
	type store struct {
		name    string
		s       Store
		advance func(time.Duration)
	}
	c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	e := openEmbedded(t, c.now)
	m := miniredis.RunT(t)
	r := OpenRedis(RedisOptions{Addr: m.Addr()})
	defer r.Close()
	r.now = c.now
	stores := []store{
		{"embedded", e, func(time.Duration) {}},
		{"redis", r, m.FastForward},
	}
	set := engine.GreylistSettings{PassAfter: 0}.WithDefaults()
	if set.Keep != 35*24*time.Hour {
		t.Fatalf("default keep %s, want 35 days", set.Keep)
	}
	trip := engine.Triplet{Network: "192.0.2.0/24", Sender: "a@example.org", Rcpt: "bob@example.net"}
	ctx := context.Background()
	try := func(st store, want string) {
		t.Helper()
		res, err := st.s.Greylist(ctx, trip, set)
		if err != nil || res.Reason != want {
			t.Fatalf("%s: %+v %v, want %s", st.name, res, err, want)
		}
	}
	step := func(d time.Duration) {
		c.add(d)
		for _, st := range stores {
			st.advance(d)
		}
	}
	for _, st := range stores {
		try(st, engine.GreylistNew)
	}
	step(10 * time.Minute)
	for _, st := range stores {
		try(st, engine.GreylistPassed)
	}
	step(34 * 24 * time.Hour)
	for _, st := range stores {
		try(st, engine.GreylistKnown) // and kept 35 days from now
	}
	step(34 * 24 * time.Hour)
	for _, st := range stores {
		try(st, engine.GreylistKnown)
	}
	step(36 * 24 * time.Hour)
	for _, st := range stores {
		try(st, engine.GreylistNew)
	}
}
