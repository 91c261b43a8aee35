package imap

import (
	"sync"
	"sync/atomic"
)

// A FETCH of message bodies (a client downloading mail, 100 at a time or
// more) read each file when its turn came, one after another, between
// the writes of the answers; reading is most of its time (a file's open,
// stat, read and close cost tens of microseconds on a small VM). readAhead
// reads the files of the messages to come on aheadWorkers goroutines,
// at most aheadWindow messages ahead of the one being answered, so that
// reading overlaps the writing and the other core. A message larger than
// aheadMaxSize, or one whose size the index does not know yet, is read
// when its turn comes, which bounds what waits in memory.
const (
	aheadWorkers = 2
	aheadWindow  = 8
	aheadMaxSize = 1 << 20
)

type readAhead struct {
	s      *session
	ts     []target
	slots  []aheadSlot
	tokens chan struct{} // one per message read and not yet taken
	next   atomic.Int64
	stop   chan struct{}
	wg     sync.WaitGroup
}

type aheadSlot struct {
	done  chan struct{}
	read  bool // false: left for take's caller to read
	raw   []byte
	err   error
	taken bool
}

// readAhead starts reading ts's files; close it when done.
func (s *session) readAhead(ts []target) *readAhead {
	r := &readAhead{s: s, ts: ts, slots: make([]aheadSlot, len(ts)),
		tokens: make(chan struct{}, aheadWindow), stop: make(chan struct{})}
	for i := range r.slots {
		r.slots[i].done = make(chan struct{})
	}
	for range min(aheadWorkers, len(ts)) {
		r.wg.Add(1)
		go r.work()
	}
	return r
}

func (r *readAhead) work() {
	defer r.wg.Done()
	for {
		// The place in the window first, then the message: the message
		// take waits for always holds a place.
		select {
		case r.tokens <- struct{}{}:
		case <-r.stop:
			return
		}
		i := int(r.next.Add(1)) - 1
		if i >= len(r.ts) {
			return
		}
		sl := &r.slots[i]
		if size, ok := r.ts[i].msg.KnownSize(); ok && size <= aheadMaxSize {
			sl.raw, sl.err = r.s.mbox.ReadMessage(r.ts[i].msg.UID)
			sl.read = true
		}
		close(sl.done)
	}
}

// take returns the file of the i-th message, in order, waiting for its
// read; read is false when it was left to the caller.
func (r *readAhead) take(i int) (raw []byte, read bool, err error) {
	sl := &r.slots[i]
	<-sl.done
	if !sl.taken {
		sl.taken = true
		<-r.tokens // its place in the window is free
	}
	raw, read, err = sl.raw, sl.read, sl.err
	sl.raw = nil
	return raw, read, err
}

// close stops the reading and waits for the reads under way.
func (r *readAhead) close() {
	close(r.stop)
	r.wg.Wait()
}
