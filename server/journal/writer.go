package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Options tune a Journal; the zero value gives the defaults.
type Options struct {
	MaxAge    time.Duration // records older than this are removed; default 30 days
	MaxTotal  int64         // bytes the journal may hold, bodies included; default 1 GiB
	MaxFile   int64         // a file this large is rotated; default 64 MiB
	SyncEvery time.Duration // how often written records are fsynced; default 200ms
	// MaxBody is the largest message text the journal keeps a copy of
	// for replay (default 10 MiB; negative: none). A larger message is
	// recorded with its header and digest only.
	MaxBody int64
	Logger  *slog.Logger
	Now     func() time.Time // the clock; tests set it
}

func (o *Options) defaults() {
	if o.MaxAge == 0 {
		o.MaxAge = 30 * 24 * time.Hour
	}
	if o.MaxTotal == 0 {
		o.MaxTotal = 1 << 30
	}
	if o.MaxFile <= 0 {
		o.MaxFile = 64 << 20
	}
	if o.SyncEvery <= 0 {
		o.SyncEvery = 200 * time.Millisecond
	}
	if o.MaxBody == 0 {
		o.MaxBody = 10 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Journal appends records to the journal directory. It is safe for
// concurrent use.
type Journal struct {
	dir  string
	opts Options

	mu     sync.Mutex
	seg    segment
	f      *os.File // records of seg
	bf     *os.File // bodies of seg, opened at the first body
	size   int64
	bsize  int64
	seq    uint64
	dirty  bool
	closed bool
	buf    bytes.Buffer

	stop chan struct{}
	done chan struct{}

	compressing sync.WaitGroup // rotated segments being compressed (compress.go)
	compressMu  sync.Mutex     // one at a time: the machine serves mail meanwhile
}

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("journal: closed")

// Open opens the journal in dir, creating it if needed. It continues the
// sequence of the records already there; a torn last record (a crash
// during its write) is cut off, with a warning, so that new records never
// follow a broken one.
func Open(dir string, opts Options) (*Journal, error) {
	opts.defaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &Journal{dir: dir, opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	segs, err := segments(dir)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := j.recover(segs); err != nil {
		return nil, err
	}
	now := opts.Now()
	if n := len(segs); n > 0 && !segs[n-1].gz && segs[n-1].day.Equal(now.UTC().Truncate(24*time.Hour)) {
		err = j.reopen(segs[n-1])
	} else {
		err = j.create(now)
	}
	if err != nil {
		return nil, err
	}
	j.prune()
	for _, s := range segs { // left plain by a crash, or by an older sluice
		if !s.gz && s.stem != j.seg.stem {
			j.compressLater(s)
		}
	}
	go j.syncLoop()
	return j, nil
}

// Dir returns the journal directory.
func (j *Journal) Dir() string { return j.dir }

// recover finds the last sequence number and repairs the last file's
// tail.
func (j *Journal) recover(segs []segment) error {
	for i := len(segs) - 1; i >= 0; i-- {
		path := segs[i].records(j.dir)
		if i == len(segs)-1 && !segs[i].gz {
			if err := repairTail(path, j.opts.Logger); err != nil {
				return err
			}
		}
		last, err := lastSeq(path)
		if err != nil {
			return err
		}
		if last > 0 {
			j.seq = last
			return nil
		}
	}
	return nil
}

// Append writes rec, setting its Seq (and its ID and Time when empty).
// body, when not nil, is the message text: kept in the bodies file when
// it is no larger than MaxBody, and rec.Stored.Body points to it. The
// record is on disk (in the page cache) when Append returns and fsynced
// within SyncEvery.
func (j *Journal) Append(rec *Record, body []byte) error {
	if rec.ID == "" {
		rec.ID = NewID()
	}
	if rec.Time.IsZero() {
		rec.Time = j.opts.Now()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return ErrClosed
	}
	if err := j.rotateIfNeeded(rec.Time); err != nil {
		return err
	}
	if body != nil && rec.Stored != nil && int64(len(body)) <= j.opts.MaxBody {
		b, err := j.writeBody(body)
		if err != nil {
			return err
		}
		rec.Stored.Body, rec.Stored.Header = b, ""
	}
	j.seq++
	rec.Seq = j.seq
	j.buf.Reset()
	enc := json.NewEncoder(&j.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		j.seq--
		return fmt.Errorf("journal: encoding record: %w", err)
	}
	n, err := j.f.Write(j.buf.Bytes())
	j.size += int64(n)
	j.dirty = true
	if err != nil {
		// Cut off what was written, so the next record starts on a
		// line of its own.
		j.f.Truncate(j.size - int64(n))
		j.size -= int64(n)
		j.seq--
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

func (j *Journal) writeBody(body []byte) (*Body, error) {
	if j.bf == nil {
		f, err := os.OpenFile(j.seg.bodies(j.dir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("journal: %w", err)
		}
		j.bf, j.bsize = f, fi.Size()
	}
	off := j.bsize
	n, err := j.bf.Write(body)
	j.bsize += int64(n)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &Body{File: j.seg.stem + bodySuffix, Offset: off, Size: len(body)}, nil
}

// rotateIfNeeded starts a new segment at a new UTC day or when the
// current one is full.
func (j *Journal) rotateIfNeeded(t time.Time) error {
	day := t.UTC().Truncate(24 * time.Hour)
	if day.Equal(j.seg.day) && j.size+j.bsize < j.opts.MaxFile {
		return nil
	}
	if day.Before(j.seg.day) && j.size+j.bsize < j.opts.MaxFile {
		return nil // the clock stepped back: stay in today's file
	}
	old := j.seg
	if err := j.closeSegment(); err != nil {
		return err
	}
	if err := j.create(t); err != nil {
		return err
	}
	j.prune()
	j.compressLater(old)
	return nil
}

// create starts a new segment for the day of t.
func (j *Journal) create(t time.Time) error {
	n := 1
	if segs, _ := segments(j.dir); len(segs) > 0 {
		if last := segs[len(segs)-1]; last.day.Equal(t.UTC().Truncate(24 * time.Hour)) {
			n = last.n + 1
		}
	}
	seg := newSegment(t, n)
	f, err := os.OpenFile(seg.records(j.dir), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	h, _ := json.Marshal(header{Journal: "sluice", Version: Version, Created: t.UTC().Format(time.RFC3339)})
	h = append(h, '\n')
	if _, err := f.Write(h); err != nil {
		f.Close()
		return fmt.Errorf("journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("journal: %w", err)
	}
	syncDir(j.dir)
	j.seg, j.f, j.size, j.bf, j.bsize = seg, f, int64(len(h)), nil, 0
	return nil
}

// reopen continues the segment seg.
func (j *Journal) reopen(seg segment) error {
	f, err := os.OpenFile(seg.records(j.dir), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("journal: %w", err)
	}
	if fi.Size() == 0 {
		// Even the header was torn: start the file again.
		f.Close()
		if err := os.Remove(seg.records(j.dir)); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		return j.create(j.opts.Now())
	}
	var bsize int64
	if bi, err := os.Stat(seg.bodies(j.dir)); err == nil {
		bsize = bi.Size()
	}
	j.seg, j.f, j.size, j.bf, j.bsize = seg, f, fi.Size(), nil, bsize
	return nil
}

func (j *Journal) closeSegment() error {
	var err error
	for _, f := range []*os.File{j.bf, j.f} {
		if f == nil {
			continue
		}
		if serr := f.Sync(); serr != nil && err == nil {
			err = serr
		}
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	j.f, j.bf, j.dirty = nil, nil, false
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

func (j *Journal) prune() {
	removed, err := prune(j.dir, j.opts.Now(), j.opts.MaxAge, j.opts.MaxTotal, j.seg.stem)
	if len(removed) > 0 {
		j.opts.Logger.Info("journal files removed by retention", "files", removed)
	}
	if err != nil {
		j.opts.Logger.Warn("journal retention", "err", err)
	}
}

// syncLoop fsyncs what was written since the last round.
func (j *Journal) syncLoop() {
	defer close(j.done)
	t := time.NewTicker(j.opts.SyncEvery)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
			j.Sync()
		}
	}
}

// Sync fsyncs the records written so far.
func (j *Journal) Sync() error {
	j.mu.Lock()
	if !j.dirty || j.closed {
		j.mu.Unlock()
		return nil
	}
	f, bf := j.f, j.bf
	j.dirty = false
	j.mu.Unlock()
	// Outside the lock, so that appends go on during the fsync; a
	// rotation meanwhile syncs and closes the file itself.
	var err error
	for _, x := range []*os.File{bf, f} {
		if x == nil {
			continue
		}
		if serr := x.Sync(); serr != nil && !errors.Is(serr, os.ErrClosed) && err == nil {
			err = serr
		}
	}
	if err != nil {
		j.opts.Logger.Warn("journal fsync", "err", err)
	}
	return err
}

// Close syncs and closes the journal.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	close(j.stop)
	err := j.closeSegment()
	j.mu.Unlock()
	<-j.done
	j.compressing.Wait()
	return err
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// repairTail cuts a torn last line (one not ended by a newline) off the
// file at path, with a warning naming what was lost.
func repairTail(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	end, err := lastNewline(f)
	if err != nil {
		return fmt.Errorf("journal: %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if end == fi.Size() {
		return nil
	}
	log.Warn("journal: torn last record cut off", "file", path, "offset", end, "bytes", fi.Size()-end)
	if err := f.Truncate(end); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return f.Sync()
}

// lastNewline returns the offset just past the last '\n' of f (0 if none).
func lastNewline(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 64<<10)
	for end := fi.Size(); end > 0; {
		start := max(0, end-int64(len(buf)))
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}
