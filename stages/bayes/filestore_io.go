package bayes

import (
	"bufio"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jbrukh/bayesian"
)

// magic starts every model file; the number is the file format version.
// Version 2 adds the logistic-regression weights after the counts; a
// version 1 file is read as a model whose weights are all zero.
const (
	magic   = "sluice-bayes 2\n"
	magicV1 = "sluice-bayes 1\n"
)

// fileMeta is what the model file holds besides the classifier.
type fileMeta struct {
	Tokenizer int
	Spam, Ham int
	Digests   map[Digest]Class
	Steps     map[Digest]float32 // version 2: each learnt message's step
}

// fileStamp tells whether the file changed since it was last read or
// written, cheaply.
type fileStamp struct {
	size  int64
	mtime time.Time
	ino   uint64
}

func stampOf(fi fs.FileInfo) fileStamp {
	s := fileStamp{size: fi.Size(), mtime: fi.ModTime()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = sys.Ino
	}
	return s
}

// readModel reads the model at path; a missing file is an empty model.
func readModel(path string) (*state, fileStamp, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return newState(), fileStamp{}, nil
	}
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("bayes model: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("bayes model: %w", err)
	}
	st, err := decodeModel(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("bayes model %s: %w", path, err)
	}
	return st, stampOf(fi), nil
}

// decodeModel reads the magic line, the metadata and the classifier from
// one buffered reader; gob reads exactly its messages from a ByteReader, so
// the two decoders can share it.
func decodeModel(r *bufio.Reader) (*state, error) {
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(r, head); err != nil || (string(head) != magic && string(head) != magicV1) {
		return nil, errors.New("not a sluice bayes model (bad magic)")
	}
	var meta fileMeta
	if err := gob.NewDecoder(r).Decode(&meta); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	c, err := bayesian.NewClassifierFromReader(r)
	if err != nil {
		return nil, fmt.Errorf("counts: %w", err)
	}
	if len(c.Classes) != 2 || c.WordCount() == nil {
		return nil, errors.New("counts: wrong classes")
	}
	if meta.Digests == nil {
		meta.Digests = make(map[Digest]Class)
	}
	if meta.Steps == nil {
		meta.Steps = make(map[Digest]float32)
	}
	st := &state{c: c, nspam: meta.Spam, nham: meta.Ham, digests: meta.Digests, tokVer: meta.Tokenizer, steps: meta.Steps}
	if string(head) == magic {
		if st.w, err = readWeights(r); err != nil {
			return nil, fmt.Errorf("weights: %w", err)
		}
	}
	st.buildIndex()
	return st, nil
}

// writeWeights writes the non-zero weights: their number, then for each
// the gap from the previous index (uvarint) and its float32 bits (little
// endian). Most of the table is zero, so this is far smaller than it.
func writeWeights(w io.Writer, ws []float32) error {
	var n uint64
	for _, v := range ws {
		if v != 0 {
			n++
		}
	}
	buf := binary.AppendUvarint(make([]byte, 0, 1<<12), n)
	prev := 0
	for i, v := range ws {
		if v == 0 {
			continue
		}
		buf = binary.AppendUvarint(buf, uint64(i-prev))
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		prev = i
		if len(buf) > 1<<12-16 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := w.Write(buf)
	return err
}

// readWeights reads what writeWeights wrote; no weights is a nil table.
func readWeights(r *bufio.Reader) ([]float32, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	if n > 1<<lrBits {
		return nil, fmt.Errorf("%d weights, more than the table's %d", n, 1<<lrBits)
	}
	ws := make([]float32, 1<<lrBits)
	var b [4]byte
	i := uint64(0)
	for k := uint64(0); k < n; k++ {
		gap, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if i += gap; i >= 1<<lrBits || (k > 0 && gap == 0) {
			return nil, errors.New("weight index out of order or range")
		}
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, err
		}
		ws[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[:]))
	}
	return ws, nil
}

func (st *state) encode(w io.Writer) error {
	if _, err := io.WriteString(w, magic); err != nil {
		return err
	}
	meta := fileMeta{Tokenizer: st.tokVer, Spam: st.nspam, Ham: st.nham, Digests: st.digests, Steps: st.steps}
	if err := gob.NewEncoder(w).Encode(&meta); err != nil {
		return err
	}
	if err := st.c.WriteGob(w); err != nil {
		return err
	}
	return writeWeights(w, st.w)
}

// afterTempWrite, when set by a test, runs after the temporary file is
// written and synced and before it is renamed over the model: returning an
// error there is a crash at the worst moment.
var afterTempWrite func(tmp string) error

// Save writes the model to a temporary file in the same directory, syncs
// it, renames it over the model and syncs the directory, so that the file
// is always either the old model or the new one. Another process's changes
// that reached the file since it was last read are merged first; an
// exclusive lock on PATH.lock keeps two writers from losing each other's
// changes.
func (s *FileStore) Save() error {
	if s.path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("saving bayes model: %w", err)
	}
	unlock, err := lockFile(s.path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.reloadIfChanged(); err != nil {
		// The file on disk is unreadable: what is in memory replaces it.
		slog.Warn("bayes model on disk unreadable; overwriting it with the one in memory", "path", s.path, "err", err)
	}
	s.mu.RLock()
	n := len(s.pending)
	err = writeAtomic(s.path, s.st.encode)
	s.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("saving bayes model: %w", err)
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("saving bayes model: %w", err)
	}
	s.mu.Lock()
	s.pending = s.pending[n:]
	s.stamp = stampOf(fi)
	s.mu.Unlock()
	return nil
}

func writeAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	bw := bufio.NewWriterSize(tmp, 1<<16)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if afterTempWrite != nil {
		if err := afterTempWrite(tmp.Name()); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// lockFile takes an exclusive advisory lock on path, creating it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking bayes model: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking bayes model: %w", err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// maybeReload looks at the file at most once per reloadEvery and reloads it
// when another process changed it. A failed reload keeps the model in
// memory and is logged: classifying on the last good model beats failing.
func (s *FileStore) maybeReload() {
	if s.path == "" {
		return
	}
	now := time.Now().UnixNano()
	last := s.lastCheck.Load()
	if now-last < int64(s.checkEvery) || !s.lastCheck.CompareAndSwap(last, now) {
		return
	}
	if err := s.reloadIfChanged(); err != nil {
		slog.Warn("bayes model not reloaded; classifying with the one in memory", "path", s.path, "err", err)
	}
}

// reloadIfChanged reads the file again when its stamp changed, and replays
// the changes applied here since the last load or save on top of it. When
// a concurrent reload installed a model while this one read, it looks
// again: that reload may have read an older file (it started before
// another process's save), and Save, which relies on this to merge the
// file under its lock, must not write over a file it never merged.
func (s *FileStore) reloadIfChanged() error {
	for {
		done, err := s.reloadOnce()
		if done || err != nil {
			return err
		}
	}
}

// reloadOnce is one look at the file; done is false when another reload
// got in first and the file must be looked at again.
func (s *FileStore) reloadOnce() (done bool, err error) {
	fi, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return true, fmt.Errorf("bayes model: %w", err)
	}
	s.mu.RLock()
	old, bad := s.stamp, s.badStamp
	s.mu.RUnlock()
	if now := stampOf(fi); now == old || now == bad {
		return true, nil // unchanged, or the same broken file as last time
	}
	st, stamp, err := readModel(s.path)
	if err != nil {
		s.mu.Lock()
		s.badStamp = stampOf(fi)
		s.mu.Unlock()
		return true, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stamp != old {
		return false, nil
	}
	for _, c := range s.pending {
		st.apply(c)
	}
	s.st, s.stamp = st, stamp
	// What another process saved (`sluice train`, a server without
	// aging) may be over the bound, with or without this one's changes.
	s.ageLocked()
	return true, nil
}

// EncodedSize returns the bytes the model file would take if saved now:
// what sharing the model (a file copy, a later Redis value) costs.
func (s *FileStore) EncodedSize() (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n countWriter
	err := s.st.encode(&n)
	return int(n), err
}

// countWriter counts the bytes written to it.
type countWriter int

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
