package smtp

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadMessage: whatever DATA holds, what is accepted has CRLF line
// ends only, no NUL, and the body text unchanged apart from line ends.
func FuzzReadMessage(f *testing.F) {
	for _, s := range []string{"Subject: a\r\n\r\nb\r\n", "a\nb\n", "a\rb", "x\x00y", "\n\n\n", "Subject: x\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := readMessage(bytes.NewReader(data), 1<<10)
		if err != nil {
			return
		}
		if bytes.IndexByte(out, 0) >= 0 {
			t.Fatal("NUL accepted")
		}
		if bytes.Count(out, []byte("\n")) != bytes.Count(out, []byte("\r\n")) || bytes.Count(out, []byte("\r")) != bytes.Count(out, []byte("\r\n")) {
			t.Fatalf("bare CR or LF in %q", out)
		}
		if !bytes.Equal(bytes.ReplaceAll(out, []byte("\r\n"), []byte("\n")), bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))) {
			t.Fatalf("content changed: %q -> %q", data, out)
		}
	})
}

// FuzzTagSubject: tagging keeps the body and yields one Subject with the tag.
func FuzzTagSubject(f *testing.F) {
	f.Add("Subject: hello\r\nFrom: a\r\n\r\nbody\r\n")
	f.Add("From: a\r\n\r\nbody\r\n")
	f.Add("Subject:\r\n folded\r\n\r\n")
	f.Fuzz(func(t *testing.T, msg string) {
		out := string(tagSubject([]byte(msg), "[TAG]"))
		if !strings.Contains(out, "[TAG]") {
			t.Fatalf("no tag in %q", out)
		}
		_, body, ok := strings.Cut(msg, "\r\n\r\n")
		if ok && !strings.HasSuffix(out, body) {
			t.Fatalf("body changed: %q -> %q", msg, out)
		}
	})
}
