package journal

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicemail/sluice/stages/resolver"
)

// clock is a settable time for rotation and retention.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func open(t *testing.T, dir string, o Options) *Journal {
	t.Helper()
	j, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func readAll(t *testing.T, dir string) ([]*Record, []string) {
	t.Helper()
	var recs []*Record
	var warns []string
	err := Scan(dir, func(r *Record) error { recs = append(recs, r); return nil }, func(w string) { warns = append(warns, w) })
	if err != nil {
		t.Fatal(err)
	}
	return recs, warns
}

func sample(action string) *Record {
	return &Record{
		Direction: In, Pipeline: "inbound", Session: "ABC", Phase: "data", Action: action, Code: 0,
		Conn:     Conn{IP: "192.0.2.7", HELO: "mx.example.org", Listener: "smtp"},
		Envelope: Envelope{From: "a@example.org", Rcpt: []string{"b@example.com"}},
		Rules:    []Rule{{Name: "spammy", File: "rules/inbound.yml", Line: 12, Score: 5, Action: "junk"}},
		Facts:    FactsJSON(map[string]any{"dnsbl": map[string]any{"listed": true}}),
		DNS: []resolver.Exchange{{Name: "7.2.0.192.zen.example.", Type: "A", Rcode: "success",
			Records: []string{"7.2.0.192.zen.example.\t300\tIN\tA\t127.0.0.2"}, TTL: 300}},
	}
}

func TestAppendScanRoundTrip(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, Options{})
	for _, a := range []string{"accept", "junk", "reject"} {
		if err := j.Append(sample(a), nil); err != nil {
			t.Fatal(err)
		}
	}
	recs, warns := readAll(t, dir)
	if len(warns) != 0 || len(recs) != 3 {
		t.Fatalf("got %d records, warnings %v", len(recs), warns)
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) || r.ID == "" || r.Time.IsZero() {
			t.Errorf("record %d: seq %d id %q time %v", i, r.Seq, r.ID, r.Time)
		}
	}
	if recs[1].Action != "junk" || recs[1].Rules[0].Line != 12 || recs[1].DNS[0].Records[0] == "" {
		t.Errorf("record did not survive the round trip: %+v", recs[1])
	}
	// The recorded answer reads back as the resolver's answer.
	a, err := recs[1].DNS[0].Answer()
	if err != nil || a.Status != resolver.Success || len(a.Records) != 1 {
		t.Errorf("answer: %+v, %v", a, err)
	}
	// Reopening continues the sequence.
	j.Close()
	j2 := open(t, dir, Options{})
	if err := j2.Append(sample("accept"), nil); err != nil {
		t.Fatal(err)
	}
	recs, _ = readAll(t, dir)
	if got := recs[len(recs)-1].Seq; got != 4 {
		t.Errorf("seq after reopen = %d, want 4", got)
	}
}

func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, Options{})
	for range 3 {
		if err := j.Append(sample("accept"), nil); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	segs, _ := segments(dir)
	path := segs[0].records(dir)
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"seq":4,"id":"TORN","act`)
	f.Close()

	recs, warns := readAll(t, dir)
	if len(recs) != 3 || len(warns) != 1 || !strings.Contains(warns[0], "torn last record") || !strings.Contains(warns[0], "(25 bytes)") {
		t.Fatalf("records %d, warnings %q", len(recs), warns)
	}
	// The writer cuts the torn line off, so the next record is whole and
	// takes the lost one's number.
	j2 := open(t, dir, Options{})
	if err := j2.Append(sample("junk"), nil); err != nil {
		t.Fatal(err)
	}
	recs, warns = readAll(t, dir)
	if len(recs) != 4 || len(warns) != 0 || recs[3].Seq != 4 || recs[3].Action != "junk" {
		t.Fatalf("after repair: %d records, warnings %q", len(recs), warns)
	}
}

func TestCorruptMiddleSkipped(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, Options{})
	j.Append(sample("accept"), nil)
	j.Close()
	segs, _ := segments(dir)
	f, _ := os.OpenFile(segs[0].records(dir), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("{not json}\n")
	f.Close()
	j2 := open(t, dir, Options{})
	j2.Append(sample("junk"), nil)
	recs, warns := readAll(t, dir)
	if len(recs) != 2 || len(warns) != 1 || !strings.Contains(warns[0], ":3: unreadable record") {
		t.Fatalf("records %d, warnings %q", len(recs), warns)
	}
}

func TestNewerVersionRefused(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "20261205-0001.jsonl"), []byte(`{"journal":"sluice","version":99}`+"\n"), 0o600)
	err := Scan(dir, func(*Record) error { return nil }, nil)
	if err == nil || !strings.Contains(err.Error(), "version 99 is newer") {
		t.Fatalf("Scan: %v", err)
	}
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("Open appended to a journal of a newer format")
	}
}

func TestRotationAndRetention(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	j := open(t, dir, Options{Now: c.now, MaxFile: 2000, MaxAge: 2 * 24 * time.Hour, MaxTotal: 1 << 30})
	for range 6 { // about 700 bytes each: two files on the first day
		if err := j.Append(sample("accept"), nil); err != nil {
			t.Fatal(err)
		}
	}
	names := func() []string {
		j.compressing.Wait() // rotated files are compressed in the background
		segs, _ := segments(dir)
		var out []string
		for _, s := range segs {
			out = append(out, s.stem)
		}
		return out
	}
	if got := names(); len(got) < 2 || got[0] != "20261201-0001" || got[1] != "20261201-0002" {
		t.Fatalf("size rotation: %v", got)
	}
	c.set(time.Date(2026, 12, 2, 0, 0, 1, 0, time.UTC))
	j.Append(sample("junk"), nil)
	if got := names(); got[len(got)-1] != "20261202-0001" {
		t.Fatalf("day rotation: %v", got)
	}
	// Four days later the files of December 1 and 2 are past the age limit.
	c.set(time.Date(2026, 12, 5, 0, 0, 1, 0, time.UTC))
	j.Append(sample("reject"), nil)
	if got := names(); len(got) != 1 || got[0] != "20261205-0001" {
		t.Fatalf("age retention: %v", got)
	}
	recs, _ := readAll(t, dir)
	if len(recs) != 1 || recs[0].Seq != 8 {
		t.Fatalf("records after retention: %+v", recs)
	}
}

func TestRetentionBySize(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, Options{MaxFile: 1500, MaxTotal: 4000})
	for range 30 {
		j.Append(sample("accept"), nil)
	}
	segs, _ := segments(dir)
	var total int64
	for _, s := range segs {
		total += s.size(dir)
	}
	if total > 4000+1500 || segs[0].n == 1 {
		t.Fatalf("total %d bytes in %d files, first %s", total, len(segs), segs[0].stem)
	}
	recs, _ := readAll(t, dir)
	if recs[len(recs)-1].Seq != 30 {
		t.Fatalf("last seq %d", recs[len(recs)-1].Seq)
	}
}

func TestBodies(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, Options{MaxBody: 100})
	small := []byte("Subject: hi\r\n\r\nbody\r\n")
	big := []byte(strings.Repeat("x", 101))
	r1 := sample("accept")
	r1.Stored = &Stored{Queue: "Q1", Size: len(small)}
	r2 := sample("reject")
	r2.Stored = &Stored{Size: len(big), Header: "Subject: big"}
	r3 := sample("accept")
	r3.Stored = &Stored{Queue: "Q3", Size: len(small)}
	for _, x := range []struct {
		r *Record
		b []byte
	}{{r1, small}, {r2, big}, {r3, small}} {
		if err := j.Append(x.r, x.b); err != nil {
			t.Fatal(err)
		}
	}
	recs, _ := readAll(t, dir)
	if recs[1].Stored.Body != nil || recs[1].Stored.Header != "Subject: big" {
		t.Errorf("a body over MaxBody was kept: %+v", recs[1].Stored)
	}
	for _, i := range []int{0, 2} {
		got, err := ReadBody(dir, recs[i].Stored.Body)
		if err != nil || string(got) != string(small) {
			t.Errorf("record %d body %q, %v", i, got, err)
		}
	}
	if _, err := ReadBody(dir, &Body{File: "../etc/passwd.body"}); err == nil {
		t.Error("ReadBody followed a path out of the journal")
	}
}

func TestConcurrentAppend(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, Options{SyncEvery: time.Millisecond, MaxFile: 20000})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				r := sample("accept")
				r.Session = fmt.Sprintf("%d-%d", g, i)
				if err := j.Append(r, []byte("body")); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	recs, warns := readAll(t, dir)
	if len(recs) != 400 || len(warns) != 0 {
		t.Fatalf("%d records, warnings %v", len(recs), warns)
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	a := newID(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := newID(time.Date(2026, 1, 1, 0, 0, 0, 1e6, time.UTC))
	if len(a) != 12 || a[:8] >= b[:8] {
		t.Fatalf("ids %s %s", a, b)
	}
}

func TestNoJournal(t *testing.T) {
	err := Scan(filepath.Join(t.TempDir(), "none"), func(*Record) error { return nil }, nil)
	if err == nil || !strings.Contains(err.Error(), "no journal") {
		t.Fatalf("Scan of a missing journal: %v", err)
	}
}
