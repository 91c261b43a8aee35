package queue

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// lazySync bounds how long an unacknowledged record (a delivery outcome)
// may wait for an fsync when no Put comes along to carry it.
const lazySync = 200 * time.Millisecond

// segment is one spool file.
type segment struct {
	num  uint64
	path string
	r    *os.File // read handle, for the raw bytes of queued messages
	live int      // unfinished messages whose current put record is here (under Queue.mu)
	size int64    // bytes written (under Queue.mu)
}

func segName(num uint64) string { return fmt.Sprintf("spool-%08d.log", num) }

// appendReq is one write for the committer.
type appendReq struct {
	frame  []byte
	put    bool // a put record: counts as live in its segment
	sync   bool // fsync before replying
	rotate bool // close the current segment; the next write starts a new one
	done   chan struct{}

	err error    // set before done is closed
	seg *segment // where the frame was written
	off int64
}

// committer owns the current segment and performs group commit: it takes
// every request waiting, writes them in one write, fsyncs once if any of
// them needs it, then releases them all.
type committer struct {
	q    *Queue
	reqs chan *appendReq
	wg   sync.WaitGroup

	mu       sync.RWMutex
	closed   bool
	readOnly bool

	// owned by loop
	f      *os.File
	seg    *segment
	size   int64
	dirty  bool
	broken bool
	buf    []byte
	batch  []*appendReq
}

// newCommitter starts the committer; a queue opened read-only gets one
// that refuses every write.
func newCommitter(q *Queue, writable bool) *committer {
	c := &committer{q: q, reqs: make(chan *appendReq, 1024), readOnly: !writable}
	if writable {
		c.wg.Add(1)
		go c.loop()
	}
	return c
}

// submit hands a request to the committer; the caller waits on req.done
// when it has one.
func (c *committer) submit(req *appendReq) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	switch {
	case c.readOnly:
		return ErrReadOnly
	case c.closed:
		return ErrClosed
	}
	c.reqs <- req
	return nil
}

func (c *committer) close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.reqs)
	}
	c.mu.Unlock()
	c.wg.Wait()
	return nil
}

func (c *committer) loop() {
	defer c.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var first *appendReq
		select {
		case r, ok := <-c.reqs:
			if !ok {
				c.syncLazy()
				if c.f != nil {
					c.f.Close()
				}
				return
			}
			first = r
		case <-timer.C:
			c.syncLazy()
			continue
		}
		c.batch = append(c.batch[:0], first)
	drain:
		for len(c.batch) < 1024 {
			select {
			case r, ok := <-c.reqs:
				if !ok {
					break drain
				}
				c.batch = append(c.batch, r)
			default:
				break drain
			}
		}
		c.write(c.batch)
		if c.dirty {
			timer.Reset(lazySync)
		}
	}
}

// write commits one batch.
func (c *committer) write(batch []*appendReq) {
	frames := 0
	for _, r := range batch {
		if r.rotate {
			c.closeCurrent()
		}
		frames += len(r.frame)
	}
	if frames == 0 {
		reply(batch, nil)
		return
	}
	if c.f == nil || c.broken || c.size >= c.q.opts.SegmentSize {
		if err := c.rotate(); err != nil {
			reply(batch, err)
			return
		}
	}
	c.buf = c.buf[:0]
	nput, needSync := 0, false
	for _, r := range batch {
		r.seg, r.off = c.seg, c.size+int64(len(c.buf))
		c.buf = append(c.buf, r.frame...)
		if r.put {
			nput++
		}
		needSync = needSync || r.sync
	}
	q := c.q
	q.mu.Lock()
	c.seg.live += nput
	q.mu.Unlock()
	_, err := c.f.Write(c.buf)
	if err == nil && needSync {
		err = q.opts.Fsync(c.f)
	}
	if err != nil {
		// Take the batch back out so that no record of a failed Put is
		// found by recovery, and start a new segment for the next batch.
		q.mu.Lock()
		c.seg.live -= nput
		q.mu.Unlock()
		c.f.Truncate(c.size)
		c.broken = true
		q.log.Error("spool write failed", "segment", c.seg.path, "err", err)
		reply(batch, err)
		return
	}
	c.size += int64(len(c.buf))
	c.dirty = !needSync
	q.mu.Lock()
	c.seg.size = c.size
	q.mu.Unlock()
	reply(batch, nil)
}

func reply(batch []*appendReq, err error) {
	for _, r := range batch {
		r.err = err
		if r.done != nil {
			close(r.done)
		}
	}
}

// closeCurrent fsyncs and closes the current segment; the next write
// starts a new one. The closed segment can then be deleted once its
// messages are finished.
func (c *committer) closeCurrent() {
	if c.f == nil {
		return
	}
	c.syncLazy()
	c.f.Close()
	c.f = nil
	c.q.mu.Lock()
	c.q.cur = nil
	c.q.mu.Unlock()
}

func (c *committer) syncLazy() {
	if c.dirty && c.f != nil {
		if err := c.q.opts.Fsync(c.f); err != nil {
			c.q.log.Warn("spool fsync", "err", err)
			c.broken = true
		}
		c.dirty = false
	}
}

// rotate closes the current segment (after an fsync) and creates the next
// one; the new file's directory entry is fsynced before anything is
// acknowledged in it.
func (c *committer) rotate() error {
	q := c.q
	c.closeCurrent()
	q.mu.Lock()
	num := q.nextSeg
	q.nextSeg++
	q.mu.Unlock()
	path := filepath.Join(q.dir, segName(num))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	r, err := os.Open(path)
	if err == nil {
		err = q.syncDir()
	}
	if err != nil {
		f.Close()
		if r != nil {
			r.Close()
		}
		os.Remove(path)
		return err
	}
	seg := &segment{num: num, path: path, r: r}
	q.mu.Lock()
	q.segs = append(q.segs, seg)
	q.cur = seg
	q.mu.Unlock()
	c.f, c.seg, c.size, c.dirty, c.broken = f, seg, 0, false, false
	return nil
}

// syncDir fsyncs the spool directory, making creations and removals durable.
func (q *Queue) syncDir() error {
	d, err := os.Open(q.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return q.opts.Fsync(d)
}

// lockDir takes an exclusive advisory lock on dir/lock, held while the
// queue is open, so that a CLI command cannot edit the spool under a
// running server.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %v", ErrLocked, err)
	}
	return f, nil
}

var idCounter atomic.Uint32

func init() { idCounter.Store(rand.Uint32()) }

// newID returns a queue id that sorts by arrival time: the microsecond
// clock and a per-process counter, in hex.
func newID(now time.Time) string {
	return fmt.Sprintf("%013x%06x", now.UnixMicro(), idCounter.Add(1)&0xffffff)
}
