package queue

import (
	"fmt"
	"sort"
	"time"
)

// Info describes a queued message for `sluice queue list`.
type Info struct {
	ID       string
	Env      Envelope
	Pending  []string // recipients not yet delivered
	Size     int
	Attempts int
	Next     time.Time // next attempt (zero: as soon as possible)
	LastErr  string
}

// Stats are counters for monitoring (the admin listener's /metrics).
type Stats struct {
	Messages   int   // queued, not finished
	Deferred   int   // of which at least one attempt failed
	Segments   int   // spool files
	SpoolBytes int64 // their total size
}

// Stats returns the current counters.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := Stats{Messages: len(q.msgs), Segments: len(q.segs)}
	for _, m := range q.msgs {
		if m.attempts > 0 {
			st.Deferred++
		}
	}
	for _, s := range q.segs {
		st.SpoolBytes += s.size
	}
	return st
}

// List returns the queued messages, oldest first.
func (q *Queue) List() []Info {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Info, 0, len(q.msgs))
	for _, m := range q.msgs {
		out = append(out, m.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// info describes m; the caller holds Queue.mu.
func (m *message) info() Info {
	in := Info{ID: m.id, Env: m.env, Size: m.rawLen, Attempts: m.attempts, Next: m.next, LastErr: m.lastErr}
	for i, s := range m.state {
		if s == rcptPending {
			in.Pending = append(in.Pending, m.env.Rcpt[i].Addr)
		}
	}
	return in
}

// Read returns a queued message's description and bytes (for the
// console, which shows its header). It keeps no worker away: the bytes
// are read from the spool segment that holds them, never from the copy a
// worker may be handling; a message that finishes, or is moved by
// compaction, while it is read is looked up again, and is ErrNotFound
// once gone.
func (q *Queue) Read(id string) (Info, []byte, error) {
	var err error
	for range 3 {
		q.mu.Lock()
		m := q.msgs[id]
		if m == nil {
			q.mu.Unlock()
			return Info{}, nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		in, seg, off := m.info(), m.seg, m.rawOff
		q.mu.Unlock()
		buf := make([]byte, in.Size)
		if _, err = seg.r.ReadAt(buf, off); err == nil {
			return in, buf, nil
		}
	}
	return Info{}, nil, fmt.Errorf("queue: read %s: %w", id, err)
}

// Retry makes a deferred message due now (durably, so it holds across a
// restart).
func (q *Queue) Retry(id string) error {
	q.mu.Lock()
	m := q.msgs[id]
	if m == nil {
		q.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	m.next = time.Time{}
	attempts, lastErr := m.attempts, m.lastErr
	q.mu.Unlock()
	if err := q.appendSync(recDefer, encodeDefer(id, attempts, time.Time{}, lastErr)); err != nil {
		return err
	}
	q.wake()
	return nil
}

// Delete removes a message from the queue without delivering it or
// bouncing it.
func (q *Queue) Delete(id string) error {
	q.mu.Lock()
	m := q.msgs[id]
	switch {
	case m == nil:
		q.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	case m.busy:
		q.mu.Unlock()
		return fmt.Errorf("queue: %s is being delivered right now; try again", id)
	}
	m.busy = true // keep workers away while the record is written
	q.mu.Unlock()
	if err := q.appendSync(recDelete, encodeDelete(id)); err != nil {
		q.mu.Lock()
		m.busy = false
		q.mu.Unlock()
		return err
	}
	q.mu.Lock()
	delete(q.msgs, id)
	m.seg.live--
	q.mu.Unlock()
	q.log.Info("message deleted by operator", "id", id)
	return nil
}

// OldestAge returns how long the oldest queued message has waited (0 when
// the queue is empty): a queue that stops moving shows here first.
func (q *Queue) OldestAge() time.Duration {
	now := q.opts.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	var oldest time.Duration
	for _, m := range q.msgs {
		if !m.env.Received.IsZero() {
			oldest = max(oldest, now.Sub(m.env.Received))
		}
	}
	return oldest
}
