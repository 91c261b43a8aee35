//go:build !linux

package store

import (
	"fmt"
	"io"
	"os"
	"time"
)

// readMessageFile reads a whole message file and its mtime (the internal
// date) with os.Open; readfile_linux.go says why Linux does it by hand.
func readMessageFile(path string) ([]byte, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	if !st.Mode().IsRegular() {
		return nil, time.Time{}, fmt.Errorf("%s: not a regular file", path)
	}
	raw, err := io.ReadAll(f)
	return raw, st.ModTime(), err
}
