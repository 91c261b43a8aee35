package verdicts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// Ring holds the last verdicts in memory. It is safe for concurrent use.
type Ring struct {
	mu   sync.Mutex
	buf  []Verdict // circular, len == cap once full
	next int       // where the next verdict goes once full
	subs map[chan Verdict]struct{}
}

// NewRing returns a ring holding the last n verdicts.
func NewRing(n int) *Ring {
	return &Ring{buf: make([]Verdict, 0, max(n, 1)), subs: map[chan Verdict]struct{}{}}
}

// Add records v (giving it an ID and a time if it has none) and sends it
// to the subscribers.
func (r *Ring) Add(v Verdict) {
	if v.ID == "" {
		b := make([]byte, 8)
		rand.Read(b)
		v.ID = hex.EncodeToString(b)
	}
	if v.Time.IsZero() {
		v.Time = time.Now()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) < cap(r.buf) {
		r.buf = append(r.buf, v)
	} else {
		r.buf[r.next] = v
		r.next = (r.next + 1) % len(r.buf)
	}
	for ch := range r.subs {
		select {
		case ch <- v:
		default: // a slow subscriber misses it
		}
	}
}

// newestFirst calls f on the verdicts from the newest until it returns
// false. Call with r.mu held.
func (r *Ring) newestFirst(f func(*Verdict) bool) {
	n := len(r.buf)
	for i := range n {
		idx := (r.next - 1 - i + 2*n) % n
		if len(r.buf) < cap(r.buf) {
			idx = n - 1 - i
		}
		if !f(&r.buf[idx]) {
			return
		}
	}
}

// List implements Source.
func (r *Ring) List(f Filter, limit int) []Verdict {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Verdict
	r.newestFirst(func(v *Verdict) bool {
		if f.Match(v) {
			out = append(out, *v)
		}
		return len(out) < limit
	})
	return out
}

// Get implements Source.
func (r *Ring) Get(id string) (Verdict, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var found *Verdict
	r.newestFirst(func(v *Verdict) bool {
		if v.ID == id {
			found = v
		}
		return found == nil
	})
	if found == nil {
		return Verdict{}, false
	}
	return *found, true
}

// Subscribe implements Source.
func (r *Ring) Subscribe(ctx context.Context) <-chan Verdict {
	ch := make(chan Verdict, 64)
	r.mu.Lock()
	r.subs[ch] = struct{}{}
	r.mu.Unlock()
	go func() {
		<-ctx.Done()
		r.mu.Lock()
		delete(r.subs, ch)
		r.mu.Unlock()
		close(ch)
	}()
	return ch
}
