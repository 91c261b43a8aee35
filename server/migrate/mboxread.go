package migrate

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
)

// readMbox calls fn for each message of a Dovecot mbox file, with the
// date of its From_ line. Dovecot does not quote "From " lines in bodies:
// it writes a Content-Length header and trusts it, so a message is split
// by its Content-Length when that lands on the separator (a blank line,
// then a From_ line or the end); otherwise at the next "From " line
// after a blank line, as other mbox writers expect. raw keeps the
// trailing separator line, which mboxMessage drops. The file is read
// whole: folders are read one at a time.
func readMbox(path string, fn func(raw []byte, date time.Time) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for len(data) > 0 {
		if !bytes.HasPrefix(data, []byte("From ")) {
			return errors.New("not an mbox: no From_ line where a message starts")
		}
		first, rest, _ := bytes.Cut(data, []byte("\n"))
		date := fromLine(first)
		end := messageEnd(rest)
		if ferr := fn(rest[:end], date); ferr != nil {
			return ferr
		}
		data = rest[end:]
	}
	return nil
}

// messageEnd is where the message at the start of b (after its From_
// line) ends: the next From_ line, or the end.
func messageEnd(b []byte) int {
	header := 0
	length := -1
	for header < len(b) {
		line := b[header:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i+1]
		}
		header += len(line)
		if n, ok := contentLength(line); ok {
			length = n
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
	}
	if length >= 0 && header+length <= len(b) {
		after := b[header+length:]
		if len(after) == 0 || bytes.Equal(after, []byte("\n")) || bytes.HasPrefix(after, []byte("\nFrom ")) {
			return min(len(b), header+length+1)
		}
	}
	for i := header; i < len(b); {
		j := bytes.Index(b[i:], []byte("\n\nFrom "))
		if j < 0 {
			break
		}
		return i + j + 2
	}
	return len(b)
}

func contentLength(line []byte) (int, bool) {
	name, v, ok := strings.Cut(string(line), ":")
	if !ok || !strings.EqualFold(name, "Content-Length") {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	return n, err == nil && n >= 0
}

// fromLine is the asctime date at the end of a From_ line
// ("From bob@host  Sun Jan 05 09:11:12 2020").
func fromLine(line []byte) time.Time {
	fields := strings.Fields(string(line))
	if len(fields) >= 7 {
		if t, err := time.Parse(time.ANSIC, strings.Join(fields[len(fields)-5:], " ")); err == nil {
			return t
		}
	}
	return time.Time{}
}
