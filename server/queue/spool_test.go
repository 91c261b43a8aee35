package queue

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestPutIsDurable(t *testing.T) {
	dir := t.TempDir()
	q := mustOpen(t, dir, Options{})
	id, err := q.Put(context.Background(), env("u@local.test"), body(1))
	if err != nil {
		t.Fatal(err)
	}
	q.lock.Close() // a crash: no Close, nothing flushed after Put returned

	q2 := mustOpen(t, dir, Options{})
	defer q2.Close()
	list := q2.List()
	if len(list) != 1 || list[0].ID != id || list[0].Pending[0] != "u@local.test" {
		t.Fatalf("after reopen: %+v", list)
	}
	m := q2.msgs[id]
	raw, err := q2.readRaw(m)
	if err != nil || string(raw) != string(body(1)) {
		t.Fatalf("raw = %q, %v", raw, err)
	}
}

func TestSecondOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	q := mustOpen(t, dir, Options{})
	defer q.Close()
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
}

// TestGroupCommit holds the first fsync until every other Put is waiting
// in the committer: they must all be made durable by at most one more
// fsync.
func TestGroupCommit(t *testing.T) {
	const n = 50
	var q *Queue
	var syncs atomic.Int32
	first := make(chan struct{})
	var once sync.Once
	o := Options{Fsync: func(f *os.File) error {
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			return f.Sync()
		}
		if syncs.Add(1) == 1 {
			once.Do(func() {
				// The hook runs in the committer: its batch is safe to read.
				for len(q.w.batch)+len(q.w.reqs) < n {
					time.Sleep(time.Millisecond)
				}
				close(first)
			})
		}
		return f.Sync()
	}}
	q = mustOpen(t, t.TempDir(), o)
	defer q.Close()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := q.Put(context.Background(), env("u@local.test"), body(i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	<-first
	if got := syncs.Load(); got > 2 {
		t.Fatalf("%d Puts took %d file fsyncs, want at most 2", n, got)
	}
	if len(q.List()) != n {
		t.Fatalf("queued %d, want %d", len(q.List()), n)
	}
}

// TestFailedPutIsNotQueued: an fsync failure (a full disk) fails the Put,
// and the message is not found after a restart either.
func TestFailedPutIsNotQueued(t *testing.T) {
	dir := t.TempDir()
	var fail atomic.Bool
	o := Options{Fsync: func(f *os.File) error {
		if fail.Load() {
			return syscall.ENOSPC
		}
		return f.Sync()
	}}
	q := mustOpen(t, dir, o)
	if _, err := q.Put(context.Background(), env("u@local.test"), body(1)); err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	if _, err := q.Put(context.Background(), env("u@local.test"), body(2)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Put on a full disk: %v", err)
	}
	fail.Store(false)
	id3, err := q.Put(context.Background(), env("u@local.test"), body(3))
	if err != nil {
		t.Fatalf("Put after the disk recovered: %v", err)
	}
	q.Close()
	q2 := mustOpen(t, dir, Options{})
	defer q2.Close()
	list := q2.List()
	if len(list) != 2 || list[1].ID != id3 {
		t.Fatalf("after reopen: %+v", list)
	}
	for _, in := range list {
		raw, _ := q2.readRaw(q2.msgs[in.ID])
		if string(raw) == string(body(2)) {
			t.Fatal("the failed Put came back")
		}
	}
}

// TestTornTail: garbage after the last record (a crash mid-append) is
// ignored and everything before it recovered.
func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	q := mustOpen(t, dir, Options{})
	for i := range 3 {
		if _, err := q.Put(context.Background(), env("u@local.test"), body(i)); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "spool-*.log"))
	f, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	frame := appendFrame(nil, recPut, encodePut(&putRecord{ID: "0123", Env: env("x@local.test"), State: []byte{0}, Raw: body(9)}))
	f.Write(frame[:len(frame)/2])
	f.Close()
	q2 := mustOpen(t, dir, Options{})
	defer q2.Close()
	if n := len(q2.List()); n != 3 {
		t.Fatalf("recovered %d, want 3", n)
	}
	if _, err := q2.Put(context.Background(), env("u@local.test"), body(4)); err != nil {
		t.Fatal(err)
	}
}

// TestRecoveryAfterCrash crashes a queue halfway through delivering and
// checks that the reopened one delivers the rest, and nothing twice that
// was recorded as delivered.
func TestRecoveryAfterCrash(t *testing.T) {
	dir := t.TempDir()
	d := &recorder{}
	q := mustOpen(t, dir, fastOpts(d))
	const n = 40
	for i := range n {
		if _, err := q.Put(context.Background(), env("a@local.test", "b@local.test"), body(i)); err != nil {
			t.Fatal(err)
		}
	}
	// b's mailbox is broken: only a gets the messages before the crash.
	d.setFail(func(u string) error {
		if u == "b@local.test" {
			return syscall.EACCES
		}
		return nil
	})
	r := start(q)
	waitFor(t, "deliveries to a", func() bool { return len(d.deliveries()) == n })
	// Let the outcome records reach the log (the lazy fsync).
	waitFor(t, "outcomes logged", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		for _, m := range q.msgs {
			if m.attempts == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(3 * lazySync)
	r.crash()

	d2 := &recorder{}
	q2 := mustOpen(t, dir, fastOpts(d2))
	if got := len(q2.List()); got != n {
		t.Fatalf("recovered %d messages, want %d", got, n)
	}
	r2 := start(q2)
	defer r2.stop()
	waitFor(t, "redelivery", func() bool { return len(q2.List()) == 0 })
	got := d2.deliveries()
	if len(got) != n {
		t.Fatalf("second run delivered %d, want %d", len(got), n)
	}
	for _, g := range got {
		if g.user != "b@local.test" {
			t.Fatalf("delivered again to %s", g.user)
		}
	}
}

// TestSegmentsAreDeleted: with tiny segments, delivered mail leaves no
// segment behind but the current one; a message deferred for long is
// copied forward, keeps its retry state, and survives a restart.
func TestSegmentsAreDeleted(t *testing.T) {
	dir := t.TempDir()
	d := &recorder{fail: func(u string) error {
		if u == "stuck@local.test" {
			return syscall.ENOSPC
		}
		return nil
	}}
	o := fastOpts(d)
	o.SegmentSize = 512
	o.Retry = []time.Duration{20 * time.Millisecond}
	q := mustOpen(t, dir, o)
	r := start(q)
	stuck, err := q.Put(context.Background(), env("stuck@local.test"), body(0))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 30; i++ {
		if _, err := q.Put(context.Background(), env("u@local.test"), body(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "deliveries", func() bool { return len(d.deliveries()) == 30 })
	waitFor(t, "old segments removed", func() bool {
		segs, _ := filepath.Glob(filepath.Join(dir, "spool-*.log"))
		return len(segs) <= 2
	})
	r.stop()
	q2 := mustOpen(t, dir, fastOpts(&recorder{}))
	defer q2.Close()
	list := q2.List()
	if len(list) != 1 || list[0].ID != stuck || list[0].Attempts == 0 || list[0].LastErr == "" {
		t.Fatalf("after restart: %+v", list)
	}
}

func TestRetryAndDeletePersist(t *testing.T) {
	dir := t.TempDir()
	d := &recorder{fail: func(string) error { return syscall.ENOSPC }}
	o := fastOpts(d)
	o.Retry = []time.Duration{time.Hour}
	q := mustOpen(t, dir, o)
	a, _ := q.Put(context.Background(), env("u@local.test"), body(1))
	b, _ := q.Put(context.Background(), env("u@local.test"), body(2))
	r := start(q)
	waitFor(t, "attempts", func() bool {
		l := q.List()
		return len(l) == 2 && l[0].Attempts == 1 && l[1].Attempts == 1
	})
	r.stop()

	q = mustOpen(t, dir, o)
	if l := q.List(); l[0].Next.Before(time.Now().Add(30 * time.Minute)) {
		t.Fatalf("retry time lost: %v", l[0].Next)
	}
	if err := q.Retry(a); err != nil {
		t.Fatal(err)
	}
	if err := q.Delete(b); err != nil {
		t.Fatal(err)
	}
	if err := q.Delete(b); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	q.Close()

	d.setFail(nil)
	q = mustOpen(t, dir, o)
	r = start(q)
	defer r.stop()
	waitFor(t, "retried message delivered", func() bool { return len(q.List()) == 0 })
	if got := d.deliveries(); len(got) != 1 || string(got[0].raw[len(got[0].raw)-len(body(1)):]) != string(body(1)) {
		t.Fatalf("delivered %d messages", len(got))
	}
}

// TestWriteErrorIsNotQueued makes a real write fail half-way (the file
// size limit, RLIMIT_FSIZE, stands in for a full disk): the Put fails, the
// partial record is taken back out, and the spool stays readable.
func TestWriteErrorIsNotQueued(t *testing.T) {
	dir := t.TempDir()
	q := mustOpen(t, dir, Options{})
	if _, err := q.Put(context.Background(), env("u@local.test"), body(1)); err != nil {
		t.Fatal(err)
	}
	q.mu.Lock()
	size := q.cur.size
	q.mu.Unlock()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = uint64(size) + 4096
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 64<<10)
	_, err := q.Put(context.Background(), env("u@local.test"), big)
	syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
	if !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("Put beyond the size limit: %v", err)
	}
	if _, err := q.Put(context.Background(), env("u@local.test"), body(3)); err != nil {
		t.Fatalf("Put after the limit was lifted: %v", err)
	}
	q.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "spool-*.log"))
	if fi, _ := os.Stat(segs[0]); fi.Size() != size {
		t.Fatalf("first segment is %d bytes, want %d (the partial record taken out)", fi.Size(), size)
	}
	q2 := mustOpen(t, dir, Options{})
	defer q2.Close()
	if n := len(q2.List()); n != 2 {
		t.Fatalf("recovered %d messages, want 2", n)
	}
}

// TestCloseStopsRun: Close ends a Run whose context is still live, so a
// server shutting down in either order does not hang.
func TestCloseStopsRun(t *testing.T) {
	q := mustOpen(t, t.TempDir(), fastOpts(&recorder{}))
	ran := make(chan error)
	go func() { ran <- q.Run(context.Background()) }()
	waitFor(t, "Run to start", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return len(q.stopRun) == 1
	})
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := q.Put(context.Background(), env("u@local.test"), body(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close: %v", err)
	}
}

// TestReadOnlyBesideWriter: a read-only open sees what a running queue
// holds, and can change nothing.
func TestReadOnlyBesideWriter(t *testing.T) {
	dir := t.TempDir()
	q := mustOpen(t, dir, Options{})
	defer q.Close()
	id, err := q.Put(context.Background(), env("u@local.test"), body(1))
	if err != nil {
		t.Fatal(err)
	}
	ro := mustOpen(t, dir, Options{ReadOnly: true})
	defer ro.Close()
	if l := ro.List(); len(l) != 1 || l[0].ID != id {
		t.Fatalf("read-only view: %+v", l)
	}
	if _, err := ro.Put(context.Background(), env("u@local.test"), body(2)); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Put: %v", err)
	}
	if err := ro.Delete(id); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Delete: %v", err)
	}
	if err := ro.Run(context.Background()); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Run: %v", err)
	}
	if len(q.List()) != 1 {
		t.Fatal("the writer lost its message")
	}
}

// TestPutCopiesTheMessage: the caller may reuse its buffer once Put has
// returned; what is delivered is what was put.
func TestPutCopiesTheMessage(t *testing.T) {
	d := &recorder{}
	q := mustOpen(t, t.TempDir(), fastOpts(d))
	buf := body(1)
	if _, err := q.Put(context.Background(), env("u@local.test"), buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, bytes.Repeat([]byte("X"), len(buf)))
	r := start(q)
	defer r.stop()
	waitFor(t, "delivery", func() bool { return len(d.deliveries()) == 1 })
	if got := d.deliveries()[0].raw; !bytes.HasSuffix(got, body(1)) {
		t.Fatalf("delivered %q", got)
	}
}

// The envelope flags survive the spool's encoding; a record from before
// a flag existed reads it as clear.
func TestPutFlagsRoundTrip(t *testing.T) {
	for _, e := range []Envelope{
		{From: "a@b.test", UTF8: true},
		{From: "a@b.test", RequireTLS: true, Quarantine: true},
		{From: "a@b.test"},
	} {
		e.Rcpt = []Recipient{{Addr: "u@local.test"}}
		p, err := decodePut(encodePut(&putRecord{ID: "0123", Env: e, State: []byte{0}, Raw: body(3)}))
		if err != nil {
			t.Fatal(err)
		}
		if p.Env.UTF8 != e.UTF8 || p.Env.RequireTLS != e.RequireTLS || p.Env.Quarantine != e.Quarantine {
			t.Errorf("got %+v, want %+v", p.Env, e)
		}
	}
}
