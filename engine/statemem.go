package engine

import (
	"context"
	"sync"
	"time"
)

// MemoryState is a State in memory: for dry runs (a `sluice check` over a
// mailbox counts its messages against the limits as the server would) and
// rule tests (a fresh one per case). It forgets everything on exit.
type MemoryState struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	rates map[string]*RateCounter
	grey  map[string]GreylistEntry
	nets  map[string]int
}

// NewMemoryState returns an empty state.
func NewMemoryState() *MemoryState {
	return &MemoryState{rates: map[string]*RateCounter{}, grey: map[string]GreylistEntry{}, nets: map[string]int{}}
}

func (m *MemoryState) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// RateHit implements State.
func (m *MemoryState) RateHit(ctx context.Context, key string, limit Rate, n int) (int, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.rates[key]
	if c == nil {
		c = &RateCounter{}
		m.rates[key] = c
	}
	count, exceeded := c.Hit(m.now(), limit, n)
	return count, exceeded, nil
}

// Greylist implements State.
func (m *MemoryState) Greylist(ctx context.Context, t Triplet, s GreylistSettings) (GreylistResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var entry *GreylistEntry
	if e, ok := m.grey[t.Key()]; ok {
		entry = &e
	}
	res, next, addPass := DecideGreylist(entry, m.nets[t.Network], m.now(), s)
	m.grey[t.Key()] = next
	if addPass {
		m.nets[t.Network]++
	}
	return res, nil
}
