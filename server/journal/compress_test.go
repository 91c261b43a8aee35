package journal

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRotatedFilesCompressed: a rotated day file becomes .jsonl.gz (its
// bodies stay as they are) and Scan, Explain, Lookup and ReadBody still
// find everything; a journal opened again continues the sequence from
// the compressed file; a plain file left by a crash is compressed at
// Open, and a half-done compression (both files there) is read once.
func TestRotatedFilesCompressed(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	j, err := Open(dir, Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	first := sample("junk")
	first.ID = newID(c.now()) // Lookup reads the files near the ID's day
	first.Stored = &Stored{Queue: "Q1"}
	body := []byte("Subject: kept\r\n\r\nfor replay\r\n")
	if err := j.Append(first, body); err != nil {
		t.Fatal(err)
	}
	c.set(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)) // a new day: rotation
	if err := j.Append(sample("accept"), nil); err != nil {
		t.Fatal(err)
	}
	j.compressing.Wait()
	gz := filepath.Join(dir, "20261201-0001.jsonl.gz")
	if _, err := os.Stat(gz); err != nil {
		t.Fatalf("rotated file not compressed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "20261201-0001.jsonl")); !os.IsNotExist(err) {
		t.Errorf("the plain rotated file is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "20261202-0001.jsonl")); err != nil {
		t.Errorf("the file being written was touched: %v", err)
	}
	check := func(when string) {
		t.Helper()
		recs, warns := readAll(t, dir)
		if len(recs) != 2 || recs[0].ID != first.ID || recs[1].Seq != 2 || len(warns) > 0 {
			t.Fatalf("%s: Scan found %d records %v", when, len(recs), warns)
		}
		got, err := ReadBody(dir, recs[0].Stored.Body)
		if err != nil || string(got) != string(body) {
			t.Errorf("%s: body %q, %v", when, got, err)
		}
		if rec, ok, err := Lookup(dir, first.ID, nil); !ok || err != nil || rec.Action != "junk" {
			t.Errorf("%s: Lookup of the compressed record: %v %v", when, ok, err)
		}
		if recs, err := Explain(dir, Query{Key: "ABC"}, nil); err != nil || len(recs) != 2 {
			t.Errorf("%s: Explain by session found %d, %v", when, len(recs), err)
		}
	}
	check("after rotation")
	j.Close()

	// Opened again on a later day: the sequence goes on from the .gz.
	c.set(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	j2, err := Open(dir, Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	rec := sample("reject")
	if err := j2.Append(rec, nil); err != nil {
		t.Fatal(err)
	}
	if rec.Seq != 3 {
		t.Errorf("after reopening, seq %d, want 3", rec.Seq)
	}
	j2.Close() // waits for the compression of December 2
	if _, err := os.Stat(filepath.Join(dir, "20261202-0001.jsonl.gz")); err != nil {
		t.Errorf("the file left plain at the last run was not compressed at Open: %v", err)
	}

	// A compression cut short: the plain file and a .gz of it are both
	// there. Every record is read once, and the next Open finishes it.
	plain := filepath.Join(dir, "20261203-0001.jsonl")
	b, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	if err := compressRecords(plain); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(plain, b, 0o600)
	recs, _ := readAll(t, dir)
	if len(recs) != 3 {
		t.Fatalf("with both files of a segment, Scan found %d records, want 3", len(recs))
	}
	c.set(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	j3, err := Open(dir, Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	j3.Close()
	if _, err := os.Stat(plain); !os.IsNotExist(err) {
		t.Errorf("the plain half of a cut-short compression stayed: %v", err)
	}
	if recs, _ := readAll(t, dir); len(recs) != 3 {
		t.Errorf("after Open finished it, %d records, want 3", len(recs))
	}
}
