package smtp

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMalformedMIME sends every message of the shared mime/ corpus
// (malformed headers and MIME structures, bare LF, odd charsets) byte for
// byte over SMTP. Each gets a clear reply; what is accepted is delivered
// with its content intact (line ends made CRLF); the server keeps serving.
func TestMalformedMIME(t *testing.T) {
	files, _ := filepath.Glob("../../engine/testdata/mime/*/*.eml")
	if len(files) < 39 {
		t.Fatalf("%d corpus files", len(files))
	}
	h := newHarness(t, harnessOpts{modify: func(o *Options) { o.MaxMessageBytes = 4 << 20 }})
	c := dialConv(t, h.mx)
	c.expect250("EHLO client.example.org")
	want := map[string]string{} // subject marker -> normalised content
	for i, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c.expect250("MAIL FROM:<a@example.org>")
		c.expect250("RCPT TO:<alice@example.net>")
		c.expect354("DATA")
		marker := "X-Corpus: " + itoa(i)
		c.send(dotStuff(marker + "\r\n" + string(raw)))
		if !bytes.HasSuffix(raw, []byte("\r\n")) {
			c.send("\r\n")
		}
		c.send(".\r\n")
		r := c.reply()
		switch {
		case strings.HasPrefix(r, "250"):
			norm, _ := normalizeLineEnds([]byte(marker + "\r\n" + string(raw)))
			want[marker] = string(norm)
		case strings.HasPrefix(r, "5"):
			t.Logf("%s refused: %s", f, strings.TrimSpace(r))
		default:
			t.Fatalf("%s: reply %q", f, r)
		}
	}
	c.expect250("NOOP")
	got := h.mailbox("alice@example.net", "INBOX", len(want))
	for _, m := range got {
		i := strings.Index(m, "X-Corpus: ")
		if i < 0 {
			t.Fatalf("delivered message without marker")
		}
		marker := m[i : i+strings.Index(m[i:], "\r\n")]
		if w := want[marker]; !strings.HasPrefix(m[i:], w) {
			t.Errorf("%s: content changed in delivery", marker)
		}
	}
	t.Logf("%d of %d corpus messages accepted and delivered intact", len(want), len(files))
}

// dotStuff doubles a dot that starts a line (RFC 5321 4.5.2). Lines are
// CRLF-delimited: after a bare LF the receiver is not at a line start, so
// a dot there is not stuffed (and not unstuffed by go-smtp).
func dotStuff(s string) string {
	if strings.HasPrefix(s, ".") {
		s = "." + s
	}
	return strings.ReplaceAll(s, "\r\n.", "\r\n..")
}
