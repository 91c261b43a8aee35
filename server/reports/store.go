// Package reports is DMARC aggregate reporting (RFC 7489 section 7.2):
// the Store records every DMARC evaluation of inbound mail compactly (one
// JSON line in <data>/dmarc/evaluations/), the Sender turns the
// evaluations not yet reported into one report per policy domain and day
// (XML per the schema of RFC 7489 Appendix C, gzipped, sent as
// application/gzip through the queue) to the rua addresses that ask for
// them, after the external destination check of section 7.1; and reports
// that others send to our own rua address are parsed and kept in
// <data>/dmarc/received/, for `sluice dmarc report`.
package reports

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrStore wraps a failure to write to the store (disk full, permissions):
// temporary, unlike a message that is no report.
var ErrStore = errors.New("reports: store")

const (
	evalDir     = "evaluations"
	receivedDir = "received"
	currentFile = "current.jsonl"
	batchPrefix = "batch-"
)

// Dir is the reports directory inside a sluice data directory.
func Dir(data string) string { return filepath.Join(data, "dmarc") }

// Options configure a Store.
type Options struct {
	// Address is our rua address: mail to it is taken in as reports.
	// "" takes in none.
	Address string
	Logger  *slog.Logger
	Now     func() time.Time // default time.Now
}

// Store holds the evaluations not yet reported and the reports received.
// Its methods are safe for concurrent use within one process; the server
// owns it while it runs (the CLI goes through the admin listener then).
type Store struct {
	dir  string
	opts Options
	log  *slog.Logger

	mu  sync.Mutex
	cur *os.File // current.jsonl, opened on the first Record
}

// Open opens (creating) the store in dir.
func Open(dir string, opts Options) (*Store, error) {
	for _, d := range []string{filepath.Join(dir, evalDir), filepath.Join(dir, receivedDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrStore, err)
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Address = strings.ToLower(strings.TrimSpace(opts.Address))
	return &Store{dir: dir, opts: opts, log: opts.Logger}, nil
}

// IsAddress reports whether addr is our rua address.
func (s *Store) IsAddress(addr string) bool {
	return s.opts.Address != "" && strings.EqualFold(strings.Trim(addr, "<> "), s.opts.Address)
}

// Record appends one evaluation. It is not fsynced: a crash loses at
// most the evaluations of the last moments, which only makes a report a
// little short. A write error is logged, never returned: reporting must
// not hold up mail.
func (s *Store) Record(ev Evaluation) {
	line, err := json.Marshal(ev)
	if err != nil {
		s.log.Warn("dmarc evaluation not recorded", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		f, err := os.OpenFile(filepath.Join(s.dir, evalDir, currentFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			s.log.Warn("dmarc evaluation not recorded", "err", err)
			return
		}
		s.cur = f
	}
	if _, err := s.cur.Write(append(line, '\n')); err != nil {
		s.log.Warn("dmarc evaluation not recorded", "err", err)
	}
}

// Close closes the evaluation file.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil
	}
	err := s.cur.Close()
	s.cur = nil
	return err
}

// rotate turns the current file into a batch, so that evaluations
// recorded from now on are not mixed into the reports being built.
func (s *Store) rotate() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		s.cur.Sync()
		s.cur.Close()
		s.cur = nil
	}
	cur := filepath.Join(s.dir, evalDir, currentFile)
	batch := filepath.Join(s.dir, evalDir, batchPrefix+strconv.FormatInt(s.opts.Now().UnixNano(), 10)+".jsonl")
	if err := os.Rename(cur, batch); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %v", ErrStore, err)
	}
	return syncDir(filepath.Join(s.dir, evalDir))
}

// pending reads the evaluations of the batches (and, with current, of
// the current file too) and the batch files they came from.
func (s *Store) pending(current bool) ([]Evaluation, []string, error) {
	dir := filepath.Join(s.dir, evalDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrStore, err)
	}
	var files []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, batchPrefix) || current && n == currentFile {
			files = append(files, filepath.Join(dir, n))
		}
	}
	sort.Strings(files)
	var out []Evaluation
	for _, f := range files {
		evs, err := readEvaluations(f)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, evs...)
	}
	return out, files, nil
}

// readEvaluations reads one file; a line that does not parse (the torn
// end of a crash) is skipped.
func readEvaluations(path string) ([]Evaluation, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStore, err)
	}
	var out []Evaluation
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ev Evaluation
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.HeaderFrom != "" {
			out = append(out, ev)
		}
	}
	return out, nil
}

// settle replaces the batch files done with one holding the evaluations
// still to report (written and fsynced first, so that a crash in between
// duplicates a report at worst, never loses one).
func (s *Store) settle(done []string, keep []Evaluation) error {
	dir := filepath.Join(s.dir, evalDir)
	if len(keep) > 0 {
		var b bytes.Buffer
		for _, ev := range keep {
			line, _ := json.Marshal(ev)
			b.Write(append(line, '\n'))
		}
		name := filepath.Join(dir, batchPrefix+strconv.FormatInt(s.opts.Now().UnixNano(), 10)+"-kept.jsonl")
		if err := writeFileSync(name, b.Bytes()); err != nil {
			return err
		}
	}
	for _, f := range done {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %v", ErrStore, err)
		}
	}
	return syncDir(dir)
}

// writeFileSync writes a file atomically: a temporary file, fsynced,
// renamed into place.
func writeFileSync(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStore, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStore, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStore, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("%w: %v", ErrStore, err)
	}
	return nil
}
