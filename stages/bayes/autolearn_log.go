package bayes

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// autolearnLog keeps an Autolearner's records in a file beside the model,
// so that a restart forgets neither the window nor the caps: a user who
// moves an autolearnt message out of Junk the morning after a restart
// still rolls the autolearn back (without it the model would keep the
// message counted as spam and learn the delivered copy as ham on top),
// and a campaign still cannot take more than its cap per period.
//
// One line per event, appended as it happens:
//
//	learn HEX SIZE UNIXNANO SENDER
//	drop HEX
//
// "drop" is a rollback. Expiry writes nothing: the records past both the
// window and the period are left out when the file is compacted, on open
// and when it has grown to several times what is still live. The lines
// are not synced one by one: a crash loses at most the last few records,
// as the model's own autosave loses the last few learns.
type autolearnLog struct {
	path  string
	f     *os.File
	lines int // written since the last compaction
}

// autolearnLogSuffix names the log beside the model file.
const autolearnLogSuffix = ".autolearn"

// openAutolearnLog reads the log at path into a (whose maps must be
// empty), keeping the records younger than a's window or period, and
// rewrites it with those alone. A missing file is an empty log; a line it
// cannot read is skipped with a warning (the rest still counts).
func openAutolearnLog(path string, a *Autolearner, now time.Time) (*autolearnLog, error) {
	recs, err := readAutolearnLog(path)
	if err != nil {
		return nil, err
	}
	keep := a.keep()
	for d, r := range recs {
		if now.Sub(r.at) >= keep {
			continue
		}
		a.learnt[d] = r
		if now.Sub(r.at) < a.period {
			a.senders[r.sender] = append(a.senders[r.sender], r.at)
		}
	}
	for _, ts := range a.senders {
		slices.SortFunc(ts, time.Time.Compare) // oldest first, as admit expects
	}
	l := &autolearnLog{path: path}
	if err := l.compact(a.learnt); err != nil {
		return nil, err
	}
	return l, nil
}

// readAutolearnLog replays the file: the records learnt and not dropped.
func readAutolearnLog(path string) (map[Digest]autoRecord, error) {
	recs := map[Digest]autoRecord{}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return recs, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bayes autolearn log: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if err := replayAutolearnLine(recs, sc.Text()); err != nil {
			slog.Warn("bayes autolearn log: line skipped", "path", path, "line", n, "err", err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bayes autolearn log %s: %w", path, err)
	}
	return recs, nil
}

func replayAutolearnLine(recs map[Digest]autoRecord, line string) error {
	f := strings.SplitN(line, " ", 5)
	var d Digest
	if len(f) < 2 || len(f[1]) != hex.EncodedLen(len(d)) {
		return fmt.Errorf("%q: no digest", line)
	}
	if _, err := hex.Decode(d[:], []byte(f[1])); err != nil {
		return fmt.Errorf("%q: bad digest", line)
	}
	switch {
	case f[0] == "drop" && len(f) == 2:
		delete(recs, d)
		return nil
	case f[0] == "learn" && len(f) == 5:
		size, err1 := strconv.Atoi(f[2])
		at, err2 := strconv.ParseInt(f[3], 10, 64)
		if err1 != nil || err2 != nil || size < 0 {
			return fmt.Errorf("%q: bad size or time", line)
		}
		recs[d] = autoRecord{size: size, sender: f[4], at: time.Unix(0, at)}
		return nil
	}
	return fmt.Errorf("%q: not a learn or drop line", line)
}

// learnt appends a learn; the caller holds the autolearner's mu.
func (l *autolearnLog) learnt(d Digest, r autoRecord, live map[Digest]autoRecord) {
	l.write(fmt.Sprintf("learn %x %d %d %s\n", d[:], r.size, r.at.UnixNano(), r.sender), live)
}

// dropped appends a rollback; the caller holds the autolearner's mu.
func (l *autolearnLog) dropped(d Digest, live map[Digest]autoRecord) {
	l.write(fmt.Sprintf("drop %x\n", d[:]), live)
}

// write appends one line, compacting first when the file holds four
// times more lines than records still live. A failure is logged, not
// returned: the learn itself stands, only its memory across a restart is
// lost.
func (l *autolearnLog) write(line string, live map[Digest]autoRecord) {
	if l.lines > 4*len(live)+1024 {
		if err := l.compact(live); err != nil {
			slog.Warn("bayes autolearn log: compaction failed", "path", l.path, "err", err)
		}
	}
	if l.f == nil {
		return
	}
	if _, err := l.f.WriteString(line); err != nil {
		slog.Warn("bayes autolearn log: not written; a restart will forget this record", "path", l.path, "err", err)
		return
	}
	l.lines++
}

// compact rewrites the log with the live records alone (a new file
// renamed over the old one, so that a crash leaves one or the other) and
// reopens it for appending.
func (l *autolearnLog) compact(live map[Digest]autoRecord) error {
	tmp := l.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("bayes autolearn log: %w", err)
	}
	w := bufio.NewWriter(f)
	for d, r := range live {
		fmt.Fprintf(w, "learn %x %d %d %s\n", d[:], r.size, r.at.UnixNano(), r.sender)
	}
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, l.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("bayes autolearn log: %w", err)
	}
	nf, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("bayes autolearn log: %w", err)
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.lines = nf, len(live)
	return nil
}
