package bayes

import (
	"log/slog"
	"sync"
	"time"
)

// saver coalesces saves: many learns in a burst (a user moving a hundred
// messages to Junk) cost one write of the model.
type saver struct {
	mu      sync.Mutex
	pending bool
	done    chan struct{} // closed when the pending save has run
}

// SaveAfter schedules a save within d and returns at once; calls made
// while one is scheduled join it. The returned channel is closed once the
// save ran (its error, if any, is logged). Use it after Learn and Unlearn
// in a server, where saving on every message would rewrite the model file
// for each one.
func (m *Model) SaveAfter(d time.Duration) <-chan struct{} {
	s := &m.saver
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending {
		return s.done
	}
	s.pending = true
	done := make(chan struct{})
	s.done = done
	time.AfterFunc(d, func() {
		s.mu.Lock()
		s.pending = false
		s.mu.Unlock()
		if err := m.Save(); err != nil {
			slog.Error("saving the bayes model", "err", err)
		}
		close(done)
	})
	return done
}
