package queue

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// recover loads every segment in order and rebuilds the queue: a put
// record adds a message (or replaces it, when compaction copied it
// forward), done records mark recipients finished, defer records restore
// the retry schedule, delete records remove a message.
func (q *Queue) recover() error {
	entries, err := os.ReadDir(q.dir)
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	var nums []uint64
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "spool-") || !strings.HasSuffix(name, ".log") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, "spool-"), ".log"), 10, 64)
		if err != nil {
			continue
		}
		nums = append(nums, n)
	}
	slices.Sort(nums)
	for _, n := range nums {
		if err := q.loadSegment(n); err != nil {
			return err
		}
		q.nextSeg = n + 1
	}
	if !q.opts.ReadOnly {
		q.dropFinished()
	}
	if len(q.msgs) > 0 {
		q.log.Info("spool recovered", "messages", len(q.msgs), "segments", len(q.segs))
	}
	return nil
}

// loadSegment reads one segment. A torn or corrupt frame ends the segment:
// nothing after it was acknowledged by an fsync that completed.
func (q *Queue) loadSegment(num uint64) error {
	path := filepath.Join(q.dir, segName(num))
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && q.opts.ReadOnly {
		return nil // deleted by the running server since the listing
	}
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	seg := &segment{num: num, path: path, r: f}
	q.segs = append(q.segs, seg)
	br := bufio.NewReaderSize(f, 1<<20)
	var hdr [frameHeader]byte
	var payload []byte
	var off int64
	for {
		_, err := io.ReadFull(br, hdr[:])
		if err == io.EOF {
			break
		}
		typ, size, crc, herr := parseHeader(hdr[:])
		if err == nil && herr == nil {
			payload = slices.Grow(payload[:0], size)[:size]
			_, err = io.ReadFull(br, payload)
			if err == nil {
				herr = checkFrame(typ, payload, crc)
			}
		}
		if err != nil || herr != nil {
			q.log.Warn("spool segment ends in a torn or corrupt record", "segment", path, "offset", off,
				"err", errors.Join(err, herr))
			break
		}
		if err := q.apply(typ, payload, seg, off); err != nil {
			q.log.Warn("spool record skipped", "segment", path, "offset", off, "err", err)
		}
		off += int64(frameHeader + size)
	}
	seg.size = off
	return nil
}

// apply replays one record.
func (q *Queue) apply(typ byte, payload []byte, seg *segment, off int64) error {
	switch typ {
	case recPut:
		p, err := decodePut(payload)
		if err != nil {
			return err
		}
		if old := q.msgs[p.ID]; old != nil {
			old.seg.live--
			delete(q.msgs, p.ID)
		}
		m := &message{id: p.ID, env: p.Env, state: p.State, attempts: p.Attempts, next: p.Next,
			lastErr: p.LastErr, seg: seg, rawOff: off + frameHeader + int64(p.rawOff), rawLen: len(p.Raw)}
		if !m.finished() {
			q.msgs[p.ID] = m
			seg.live++
		}
	case recDone:
		id, entries, err := decodeDone(payload)
		if err != nil {
			return err
		}
		if m := q.msgs[id]; m != nil {
			for _, e := range entries {
				if e.Index < len(m.state) {
					m.state[e.Index] = e.State
				}
			}
			if m.finished() {
				m.seg.live--
				delete(q.msgs, id)
			}
		}
	case recDefer:
		id, attempts, next, lastErr, err := decodeDefer(payload)
		if err != nil {
			return err
		}
		if m := q.msgs[id]; m != nil {
			m.attempts, m.next, m.lastErr = attempts, next, lastErr
		}
	case recDelete:
		id, err := decodeDelete(payload)
		if err != nil {
			return err
		}
		if m := q.msgs[id]; m != nil {
			m.seg.live--
			delete(q.msgs, id)
		}
	}
	return nil
}

// finished reports whether no recipient is pending.
func (m *message) finished() bool {
	for _, s := range m.state {
		if s == rcptPending {
			return false
		}
	}
	return true
}

// dropFinished deletes the oldest segments while all their messages are
// finished. Only the oldest segment may go: a later segment can hold
// outcomes of messages in an earlier one, which must not be forgotten while
// that earlier segment exists.
func (q *Queue) dropFinished() {
	for {
		q.mu.Lock()
		if len(q.segs) == 0 || q.segs[0] == q.cur || q.segs[0].live > 0 {
			q.mu.Unlock()
			break
		}
		s := q.segs[0]
		q.segs = q.segs[1:]
		q.mu.Unlock()
		s.r.Close()
		// Each removal is made durable before the next one, so that a
		// crash never brings back an older segment without the later one
		// holding its outcomes.
		if err := os.Remove(s.path); err != nil {
			q.log.Warn("spool segment removal", "segment", s.path, "err", err)
		}
		if err := q.syncDir(); err != nil {
			q.log.Warn("spool directory fsync", "err", err)
		}
	}
}
