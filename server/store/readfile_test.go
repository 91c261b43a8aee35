package store

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReadMessageFile: readMessageFile gives what os.ReadFile and os.Stat
// give, at the sizes where its read loop turns (empty, one byte, around
// a page, a large file), and the errors callers test with errors.Is.
func TestReadMessageFile(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 4095, 4096, 4097, 3 << 20} {
		path := filepath.Join(dir, "msg")
		want := bytes.Repeat([]byte("0123456789abcdef\r\n"), size/18+1)[:size]
		if err := os.WriteFile(path, want, 0o600); err != nil {
			t.Fatal(err)
		}
		mtime := time.Date(2003, 4, 5, 6, 7, 8, 9000, time.UTC)
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		got, date, err := readMessageFile(path)
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%d bytes: read %d bytes, not the file", size, len(got))
		}
		if !date.Equal(mtime) {
			t.Errorf("%d bytes: mtime %v, want %v", size, date, mtime)
		}
	}
	if _, _, err := readMessageFile(filepath.Join(dir, "gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want fs.ErrNotExist", err)
	}
	if _, _, err := readMessageFile(dir); err == nil {
		t.Error("a directory was read as a message")
	}
}
