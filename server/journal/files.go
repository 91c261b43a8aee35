package journal

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// File name suffixes: the records, and the message copies they point to.
const (
	recordSuffix = ".jsonl"
	bodySuffix   = ".body"
	gzSuffix     = ".gz"
	dayLayout    = "20060102"
)

// segment is one journal file and its bodies file, named by the UTC day
// it was started and a counter within the day: 20261205-0003.
type segment struct {
	stem string
	day  time.Time
	n    int
	gz   bool // its records were compressed after rotation (compress.go)
}

// records is the segment's records file, .jsonl.gz once compressed.
func (s segment) records(dir string) string {
	if s.gz {
		return filepath.Join(dir, s.stem+recordSuffix+gzSuffix)
	}
	return filepath.Join(dir, s.stem+recordSuffix)
}

func (s segment) bodies(dir string) string { return filepath.Join(dir, s.stem+bodySuffix) }

func newSegment(day time.Time, n int) segment {
	day = day.UTC().Truncate(24 * time.Hour)
	return segment{stem: fmt.Sprintf("%s-%04d", day.Format(dayLayout), n), day: day, n: n}
}

// parseStem reads a segment name; ok is false for any other file.
func parseStem(stem string) (segment, bool) {
	d, n, ok := strings.Cut(stem, "-")
	if !ok || len(d) != len(dayLayout) {
		return segment{}, false
	}
	day, err := time.Parse(dayLayout, d)
	if err != nil {
		return segment{}, false
	}
	var num int
	if _, err := fmt.Sscanf(n, "%d", &num); err != nil || fmt.Sprintf("%04d", num) != n {
		return segment{}, false
	}
	return segment{stem: stem, day: day, n: num}, true
}

// segments lists the journal's segments, oldest first. A missing
// directory is an empty journal.
func segments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// A segment whose plain file is still there is not compressed yet,
	// even when a .gz of it exists (a compression cut short).
	plain, gz := map[string]bool{}, map[string]bool{}
	for _, e := range ents {
		name, zipped := strings.CutSuffix(e.Name(), gzSuffix)
		stem, ok := strings.CutSuffix(name, recordSuffix)
		if !ok {
			continue
		}
		if zipped {
			gz[stem] = true
		} else {
			plain[stem] = true
		}
	}
	var out []segment
	for stem := range gz {
		if s, ok := parseStem(stem); ok && !plain[stem] {
			s.gz = true
			out = append(out, s)
		}
	}
	for stem := range plain {
		if s, ok := parseStem(stem); ok {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].stem < out[j].stem })
	return out, nil
}

// size is the bytes a segment holds on disk, its bodies included.
func (s segment) size(dir string) int64 {
	var n int64
	for _, p := range []string{s.records(dir), s.bodies(dir)} {
		fi, err := os.Stat(p)
		if os.IsNotExist(err) && p == s.records(dir) && !s.gz {
			fi, err = os.Stat(p + gzSuffix) // compressed since it was listed
		}
		if err == nil {
			n += fi.Size()
		}
	}
	return n
}

func (s segment) remove(dir string) error {
	err := os.Remove(s.records(dir))
	if !s.gz { // compressed since it was listed, or a compression cut short
		if gerr := os.Remove(s.records(dir) + gzSuffix); gerr == nil && os.IsNotExist(err) {
			err = nil
		}
	}
	if berr := os.Remove(s.bodies(dir)); berr != nil && !os.IsNotExist(berr) && err == nil {
		err = berr
	}
	return err
}

// prune removes the segments older than maxAge and then the oldest ones
// while the journal holds more than maxTotal bytes, never the segment
// named keep (the one being written). It returns the stems removed.
func prune(dir string, now time.Time, maxAge time.Duration, maxTotal int64, keep string) ([]string, error) {
	segs, err := segments(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	var firstErr error
	drop := func(s segment) {
		if err := s.remove(dir); err != nil && firstErr == nil {
			firstErr = err
		}
		removed = append(removed, s.stem)
	}
	cutoff := now.UTC().Truncate(24 * time.Hour).Add(-maxAge)
	var kept []segment
	var total int64
	for _, s := range segs {
		if s.stem != keep && maxAge > 0 && s.day.Before(cutoff) {
			drop(s)
			continue
		}
		kept = append(kept, s)
		total += s.size(dir)
	}
	for _, s := range kept {
		if maxTotal <= 0 || total <= maxTotal || s.stem == keep {
			break
		}
		total -= s.size(dir)
		drop(s)
	}
	return removed, firstErr
}
