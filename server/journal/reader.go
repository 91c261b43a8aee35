package journal

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// VersionError is a journal file written by a newer sluice, in a format
// this one does not know.
type VersionError struct {
	File    string
	Version int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("%s: journal format version %d is newer than this sluice reads (up to %d): read it with a newer sluice",
		e.File, e.Version, Version)
}

// ErrStop ends a Scan early without an error.
var ErrStop = errors.New("journal: stop scan")

// Scan calls fn with every record of the journal in dir, oldest first. A
// torn last line of a file (a crash during the write) and an unreadable
// line in the middle are skipped, and warn is called with where they are
// and how many bytes were skipped; a file of a newer format version stops
// the scan with a *VersionError. fn returning ErrStop ends the scan with
// a nil error. Rotated files compressed with gzip (.jsonl.gz) are read
// too.
func Scan(dir string, fn func(*Record) error, warn func(string)) error {
	files, err := journalFiles(dir)
	if err != nil {
		return err
	}
	if warn == nil {
		warn = func(string) {}
	}
	for _, path := range files {
		if err := scanListed(path, fn, warn); err != nil {
			if err == ErrStop {
				return nil
			}
			return err
		}
	}
	return nil
}

// journalFiles lists the record files, oldest first.
func journalFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("no journal at %s (the server writes one when it decides on mail)", dir)
	}
	if err != nil {
		return nil, err
	}
	plain := map[string]bool{}
	for _, e := range ents {
		plain[e.Name()] = true
	}
	var out []string
	for _, e := range ents {
		name := e.Name()
		stem, ok := strings.CutSuffix(strings.TrimSuffix(name, gzSuffix), recordSuffix)
		if !ok {
			continue
		}
		if strings.HasSuffix(name, gzSuffix) && plain[stem+recordSuffix] {
			continue // a compression cut short: the plain file is the whole one
		}
		if _, ok := parseStem(stem); ok {
			out = append(out, filepath.Join(dir, name))
		}
	}
	sort.Strings(out)
	return out, nil
}

// scanListed is scanFile of a file journalFiles listed, which the writer
// may have compressed (path.gz) or retention removed since.
func scanListed(path string, fn func(*Record) error, warn func(string)) error {
	err := scanFile(path, fn, warn)
	if os.IsNotExist(err) && !strings.HasSuffix(path, gzSuffix) {
		err = scanFile(path+gzSuffix, fn, warn)
	}
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

func scanFile(path string, fn func(*Record) error, warn func(string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	br := bufio.NewReaderSize(r, 256<<10)
	lineNo := 0
	var off int64
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] != '\n' {
			warn(fmt.Sprintf("%s: torn last record at byte %d (%d bytes) skipped", path, off, len(line)))
			return nil
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		lineNo++
		start := off
		off += int64(len(line))
		if lineNo == 1 {
			if err := checkHeader(path, line); err != nil {
				return err
			}
			continue
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			warn(fmt.Sprintf("%s:%d: unreadable record at byte %d (%d bytes) skipped: %v", path, lineNo, start, len(line), err))
			continue
		}
		if err := fn(&rec); err != nil {
			return err
		}
	}
}

func checkHeader(path string, line []byte) error {
	var h header
	if err := json.Unmarshal(line, &h); err != nil || h.Journal != "sluice" {
		return fmt.Errorf("%s: not a sluice journal file (no header line)", path)
	}
	if h.Version > Version {
		return &VersionError{File: path, Version: h.Version}
	}
	return nil
}

// lastSeq returns the sequence number of the last readable record of the
// file at path (0 when it has none). It decodes only the seq field.
func lastSeq(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, gzSuffix) {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return 0, fmt.Errorf("journal: %s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	br := bufio.NewReaderSize(r, 256<<10)
	var last uint64
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return last, nil // EOF, or a torn line that repairTail cut
		}
		if n == 1 {
			if err := checkHeader(path, line); err != nil {
				return 0, err
			}
			continue
		}
		var r struct {
			Seq uint64 `json:"seq"`
		}
		if json.Unmarshal(line, &r) == nil && r.Seq > last {
			last = r.Seq
		}
	}
}

// ReadBody returns the copy of a message the record points to.
func ReadBody(dir string, b *Body) ([]byte, error) {
	bs := NewBodies(dir)
	defer bs.Close()
	return bs.Read(b)
}
