package queue

import (
	"strings"
	"time"
)

// record appends the outcomes of an attempt to the spool and applies them;
// it reports whether the message is finished (and so left the queue).
func (q *Queue) record(m *message, done []doneEntry) bool {
	if len(done) > 0 {
		q.appendAsync(recDone, encodeDone(m.id, done))
	}
	q.mu.Lock()
	for _, d := range done {
		m.state[d.Index] = d.State
	}
	fin := m.finished()
	if fin {
		if q.msgs[m.id] == m {
			delete(q.msgs, m.id)
			m.seg.live--
		}
		m.busy, m.raw = false, nil
	}
	q.mu.Unlock()
	if fin {
		ok := true
		for _, s := range m.state {
			ok = ok && s == rcptDelivered
		}
		q.counts.finished(ok)
		q.log.Info("message done", "id", m.id, "from", m.env.From, "rcpts", len(m.state), "all_delivered", ok,
			"attempts", m.attempts+1, "delay", q.opts.Now().Sub(m.env.Received).Round(time.Millisecond))
		if q.opts.OnDone != nil {
			q.opts.OnDone(m.id, ok)
		}
	}
	return fin
}

// deferMsg schedules the next attempt of m after a temporary failure.
func (q *Queue) deferMsg(m *message, err error) {
	now := q.opts.Now()
	q.mu.Lock()
	m.attempts++
	m.next = now.Add(q.retryDelay(m.attempts))
	m.lastErr = oneLine(err.Error())
	m.busy, m.raw = false, nil
	attempts, next, lastErr := m.attempts, m.next, m.lastErr
	q.mu.Unlock()
	q.counts.deferred.Add(1)
	q.appendAsync(recDefer, encodeDefer(m.id, attempts, next, lastErr))
	q.log.Info("message deferred", "id", m.id, "attempts", attempts, "next", next.Format(time.RFC3339), "err", lastErr)
}

// retryDelay is the wait after the n-th failed attempt (n >= 1).
func (q *Queue) retryDelay(n int) time.Duration {
	r := q.opts.Retry
	return r[min(n, len(r))-1]
}

// compact deletes finished segments, oldest first, and copies the
// unfinished messages of the oldest segment forward when only messages
// waiting for a retry keep it alive, so that one slow destination does not
// pin every later segment on disk. It also closes the current segment
// when nothing in it is alive, so that it can go too.
func (q *Queue) compact() {
	for {
		q.dropFinished()
		q.mu.Lock()
		if len(q.segs) == 0 {
			q.mu.Unlock()
			return
		}
		s := q.segs[0]
		if s == q.cur {
			idle := s.live == 0 && s.size > 0
			q.mu.Unlock()
			if idle {
				q.w.submit(&appendReq{rotate: true})
			}
			return
		}
		var move []*message
		for _, m := range q.msgs {
			if m.seg != s {
				continue
			}
			if m.busy || m.attempts == 0 {
				// Being delivered, or not tried yet: it will likely
				// finish soon and free the segment without a copy.
				q.mu.Unlock()
				return
			}
			move = append(move, m)
		}
		for _, m := range move {
			m.busy = true
		}
		q.mu.Unlock()
		if !q.relocate(move) {
			return
		}
	}
}

// relocate writes fresh put records for msgs (current state included) and
// points them at the new copy.
func (q *Queue) relocate(msgs []*message) bool {
	ok := true
	for _, m := range msgs {
		old := m.seg
		raw, err := q.readRaw(m)
		if err == nil {
			m.raw = raw
			err = q.writePut(m)
		}
		q.mu.Lock()
		if err == nil {
			old.live--
		}
		m.busy, m.raw = false, nil
		q.mu.Unlock()
		if err != nil {
			q.log.Warn("spool compaction", "id", m.id, "err", err)
			ok = false
		}
	}
	return ok
}

// appendSync appends a record and waits until it is durable.
func (q *Queue) appendSync(typ byte, payload []byte) error {
	req := &appendReq{frame: appendFrame(nil, typ, payload), sync: true, done: make(chan struct{})}
	if err := q.w.submit(req); err != nil {
		return err
	}
	<-req.done
	return req.err
}

// oneLine makes s fit on one header or log line.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 900 {
		s = s[:900]
	}
	return s
}
