package queue

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/relay"
)

// gate is a Sender that holds every transaction until released and
// records how many ran at once per domain. It stands in for the relay,
// which is not what this test is about: the queue's per-domain limit is.
type gate struct {
	mu      sync.Mutex
	now     map[string]int
	peak    map[string]int
	release chan struct{}
}

func (g *gate) SendWith(ctx context.Context, from string, to []string, raw []byte, _ relay.Params) []error {
	d := engine.DomainOf(to[0])
	g.mu.Lock()
	g.now[d]++
	g.peak[d] = max(g.peak[d], g.now[d])
	g.mu.Unlock()
	<-g.release
	g.mu.Lock()
	g.now[d]--
	g.mu.Unlock()
	return make([]error, len(to))
}

func TestPerDomainConcurrency(t *testing.T) {
	g := &gate{now: map[string]int{}, peak: map[string]int{}, release: make(chan struct{})}
	o := fastOpts(&recorder{})
	o.Relay, o.Workers, o.PerDomain = g, 8, 2
	q := mustOpen(t, t.TempDir(), o)
	r := start(q)
	defer r.stop()
	for i := range 6 {
		for _, d := range []string{"a.test", "b.test"} {
			e := Envelope{From: "s@local.test", Rcpt: []Recipient{{Addr: "x@" + d}}}
			if _, err := q.Put(context.Background(), e, body(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Both domains reach their limit at the same time: the limit is per domain.
	waitFor(t, "both domains busy", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.now["a.test"] == 2 && g.now["b.test"] == 2
	})
	close(g.release)
	waitFor(t, "all relayed", func() bool { return len(q.List()) == 0 })
	if g.peak["a.test"] != 2 || g.peak["b.test"] != 2 {
		t.Fatalf("peak concurrency per domain: %v, want 2 each", g.peak)
	}
}

// stall is a Sender that answers only when the queue shuts down.
type stall struct{ started chan struct{} }

func (s stall) SendWith(ctx context.Context, from string, to []string, raw []byte, _ relay.Params) []error {
	close(s.started)
	<-ctx.Done()
	errs := make([]error, len(to))
	for i := range errs {
		errs[i] = ctx.Err()
	}
	return errs
}

// TestShutdownIsNoAttempt: a relay cut short by shutdown does not count
// as a failed attempt, so the message goes again at once on the next start.
func TestShutdownIsNoAttempt(t *testing.T) {
	dir := t.TempDir()
	o := fastOpts(&recorder{})
	o.Relay, o.Retry = stall{started: make(chan struct{})}, []time.Duration{time.Hour}
	q := mustOpen(t, dir, o)
	r := start(q)
	if _, err := q.Put(context.Background(), Envelope{From: "s@local.test", Rcpt: []Recipient{{Addr: "x@a.test"}}}, body(1)); err != nil {
		t.Fatal(err)
	}
	<-o.Relay.(stall).started
	r.stop()
	q = mustOpen(t, dir, fastOpts(&recorder{}))
	defer q.Close()
	if l := q.List(); len(l) != 1 || l[0].Attempts != 0 || !l[0].Next.IsZero() {
		t.Fatalf("after a shutdown mid-relay: %+v", l)
	}
}
