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
	dayLayout    = "20060102"
)

// segment is one journal file and its bodies file, named by the UTC day
// it was started and a counter within the day: 20261205-0003.
type segment struct {
	stem string
	day  time.Time
	n    int
}

func (s segment) records(dir string) string { return filepath.Join(dir, s.stem+recordSuffix) }
func (s segment) bodies(dir string) string  { return filepath.Join(dir, s.stem+bodySuffix) }

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
	seen := map[string]bool{}
	var out []segment
	for _, e := range ents {
		stem, ok := strings.CutSuffix(e.Name(), recordSuffix)
		if !ok {
			continue
		}
		if s, ok := parseStem(stem); ok && !seen[stem] {
			seen[stem] = true
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
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func (s segment) remove(dir string) error {
	err := os.Remove(s.records(dir))
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
