package journal

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Explain returns the verdict records q selects, oldest first, each with
// the shadow rules' disagreement about it (a record of kind "shadow"
// whose Of is its ID) as its Shadow: what `sluice explain` prints.
func Explain(dir string, q Query, warn func(string)) ([]*Record, error) {
	files, err := journalFiles(dir)
	if err != nil {
		return nil, err
	}
	return explainFiles(files, q, warn)
}

// Lookup finds the verdict record with journal ID id, with the shadow
// disagreement about it, reading only the files of the day the ID was
// made and the days around it (an ID holds its time). ok is false when the journal
// has no such record.
func Lookup(dir, id string, warn func(string)) (rec *Record, ok bool, err error) {
	t, valid := idTime(id)
	if _, err := os.Stat(dir); !valid || os.IsNotExist(err) {
		return nil, false, nil
	}
	files, err := journalFiles(dir)
	if err != nil {
		return nil, false, err
	}
	day := t.UTC().Truncate(24 * time.Hour)
	var near []string
	for _, f := range files {
		stem := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".gz"), recordSuffix)
		if s, ok := parseStem(stem); ok && !s.day.Before(day.Add(-24*time.Hour)) && !s.day.After(day.Add(24*time.Hour)) {
			near = append(near, f)
		}
	}
	recs, err := explainFiles(near, Query{Key: id}, warn)
	for _, r := range recs {
		if strings.EqualFold(r.ID, id) {
			return r, true, err
		}
	}
	return nil, false, err
}

// idTime is the time a journal ID was made (NewID): its first eight
// characters are milliseconds in base 36.
func idTime(id string) (time.Time, bool) {
	if len(id) != 12 {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(strings.ToLower(id[:8]), 36, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// shadowKind is the kind of the shadow rules' records (server/shadow
// writes them).
const shadowKind = "shadow"

// explainFiles is Explain over the given files: a shadow record is
// written after the verdict it is about, so one pass finds both.
func explainFiles(files []string, q Query, warn func(string)) ([]*Record, error) {
	if warn == nil {
		warn = func(string) {}
	}
	var out []*Record
	byID := map[string]*Record{}
	fn := func(r *Record) error {
		if q.Match(r) {
			out = append(out, r)
			byID[r.ID] = r
		} else if q.Kind == "" && r.Kind == shadowKind && r.Shadow != nil {
			if live := byID[r.Of]; live != nil {
				live.Shadow = r.Shadow
			}
		}
		return nil
	}
	for _, f := range files {
		if err := scanListed(f, fn, warn); err != nil {
			if err == ErrStop {
				break
			}
			return out, err
		}
	}
	return out, nil
}
