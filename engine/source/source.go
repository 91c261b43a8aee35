// Package source reads messages from the places users keep them: single
// message files, directories of message files, Maildirs (cur/ and new/,
// with Maildir++ sub-folders) and mbox files (the mboxrd/mboxo "From " line
// format). It serves `sluice check`, `sluice train` and `sluice import`.
package source

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Item is one message, or one place that could not be read.
type Item struct {
	Path   string    // file path; for mbox, "file#N" (1-based)
	Folder string    // Maildir++ folder ("" for INBOX or plain files)
	Raw    []byte    // the message, with mbox quoting removed
	Flags  string    // Maildir info flags, e.g. "FS" ("" if none)
	Date   time.Time // file modification time, or the mbox From_ line date
	Err    error     // set when the item could not be read; Raw is nil
}

// MaxMessageSize bounds what is read of one message.
const MaxMessageSize = 64 << 20

// Walk calls fn for every message under the paths, in a stable order.
// Unreadable files are passed to fn with Err set and the walk goes on; fn
// returning an error stops it.
func Walk(paths []string, fn func(Item) error) error {
	for _, p := range paths {
		if err := walkPath(p, fn); err != nil {
			return err
		}
	}
	return nil
}

// Count returns how many items Walk would visit, counting each mbox as its
// number of messages; it is for progress bars and reads mbox files once.
func Count(paths []string) int {
	n := 0
	_ = Walk(paths, func(Item) error { n++; return nil })
	return n
}

func walkPath(p string, fn func(Item) error) error {
	st, err := os.Stat(p)
	if err != nil {
		return fn(Item{Path: p, Err: err})
	}
	if !st.IsDir() {
		if isMbox(p) {
			return walkMbox(p, fn)
		}
		return fn(readFile(p, "", st))
	}
	if IsMaildir(p) {
		return walkMaildir(p, fn)
	}
	return walkDir(p, fn)
}

// IsMaildir reports whether dir has cur/ and new/ sub-directories.
func IsMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err != nil || !st.IsDir() {
			return false
		}
	}
	return true
}

func walkMaildir(dir string, fn func(Item) error) error {
	if err := walkMaildirFolder(dir, "", fn); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fn(Item{Path: dir, Err: err})
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, ".") || name == "." || name == ".." {
			continue
		}
		sub := filepath.Join(dir, name)
		if IsMaildir(sub) {
			if err := walkMaildirFolder(sub, strings.TrimPrefix(name, "."), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func walkMaildirFolder(dir, folder string, fn func(Item) error) error {
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			if err := fn(Item{Path: filepath.Join(dir, sub), Folder: folder, Err: err}); err != nil {
				return err
			}
			continue
		}
		for _, e := range entries {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			p := filepath.Join(dir, sub, e.Name())
			info, _ := e.Info()
			it := readFile(p, folder, info)
			it.Flags = MaildirFlags(e.Name())
			if err := fn(it); err != nil {
				return err
			}
		}
	}
	return nil
}

// MaildirFlags returns the flag letters of a Maildir file name
// ("123.host:2,FS" gives "FS").
func MaildirFlags(name string) string {
	if i := strings.LastIndex(name, ":2,"); i >= 0 {
		return name[i+3:]
	}
	return ""
}

func walkDir(dir string, fn func(Item) error) error {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fn(Item{Path: p, Err: err})
		}
		if d.IsDir() {
			if p != dir && IsMaildir(p) {
				files = append(files, p)
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(d.Name(), ".") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		if err := walkPath(f, fn); err != nil {
			return err
		}
	}
	return nil
}

func readFile(p, folder string, info fs.FileInfo) Item {
	it := Item{Path: p, Folder: folder}
	if info != nil {
		it.Date = info.ModTime()
		if info.Size() > MaxMessageSize {
			it.Err = fmt.Errorf("larger than %d bytes", MaxMessageSize)
			return it
		}
	}
	it.Raw, it.Err = os.ReadFile(p)
	if it.Err == nil && len(it.Raw) == 0 {
		it.Raw, it.Err = nil, errors.New("empty file")
	}
	return it
}

// isMbox reports whether a file starts with an mbox "From " line.
func isMbox(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 5)
	n, _ := io.ReadFull(f, head)
	return n == 5 && string(head) == "From "
}

func walkMbox(p string, fn func(Item) error) error {
	f, err := os.Open(p)
	if err != nil {
		return fn(Item{Path: p, Err: err})
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	var cur bytes.Buffer
	var date time.Time
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		raw := append([]byte(nil), cur.Bytes()...)
		cur.Reset()
		return fn(Item{Path: fmt.Sprintf("%s#%d", p, n), Raw: raw, Date: date})
	}
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if bytes.HasPrefix(line, []byte("From ")) {
				if ferr := flush(); ferr != nil {
					return ferr
				}
				n++
				date = fromLineDate(line)
			} else if n > 0 {
				cur.Write(unquoteFrom(line))
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fn(Item{Path: p, Err: err})
		}
	}
	return flush()
}

// unquoteFrom undoes mboxrd quoting: ">From " becomes "From ", ">>From "
// becomes ">From ".
func unquoteFrom(line []byte) []byte {
	i := 0
	for i < len(line) && line[i] == '>' {
		i++
	}
	if i > 0 && bytes.HasPrefix(line[i:], []byte("From ")) {
		return line[1:]
	}
	return line
}

// fromLineDate parses the asctime date at the end of a From_ line.
func fromLineDate(line []byte) time.Time {
	fields := strings.Fields(string(line))
	if len(fields) >= 7 {
		s := strings.Join(fields[len(fields)-5:], " ")
		if t, err := time.Parse(time.ANSIC, s); err == nil {
			return t
		}
	}
	return time.Time{}
}
