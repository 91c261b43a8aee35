package store

import (
	"bytes"
	"testing"
)

// TestCRLF: bare line feeds become CRLF, those already after a CR stay,
// a lone CR is left as it is, and bareLFs counts what CRLF adds;
// WriteCRLF writes the same bytes and CRLFSize counts them.
func TestCRLF(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "",
		"abc":                "abc",
		"\n":                 "\r\n",
		"\n\n":               "\r\n\r\n",
		"a\nb":               "a\r\nb",
		"a\r\nb\n":           "a\r\nb\r\n",
		"\r\n\n":             "\r\n\r\n",
		"a\r":                "a\r",
		"a\rb\n\r\n\nc":      "a\rb\r\n\r\n\r\nc",
		"Subject: x\n\nhi\n": "Subject: x\r\n\r\nhi\r\n",
	} {
		if got := string(CRLF([]byte(in))); got != want {
			t.Errorf("CRLF(%q) = %q, want %q", in, got, want)
		}
		if n := bareLFs([]byte(in)); n != len(want)-len(in) {
			t.Errorf("bareLFs(%q) = %d, want %d", in, n, len(want)-len(in))
		}
		var buf bytes.Buffer
		if err := WriteCRLF(&buf, []byte(in)); err != nil || buf.String() != want {
			t.Errorf("WriteCRLF(%q) wrote %q, %v; want %q", in, buf.String(), err, want)
		}
		if n := CRLFSize([]byte(in)); n != int64(len(want)) {
			t.Errorf("CRLFSize(%q) = %d, want %d", in, n, len(want))
		}
	}
}

// FuzzCRLF: WriteCRLF writes what CRLF returns, CRLFSize bytes of it,
// for any input.
func FuzzCRLF(f *testing.F) {
	for _, s := range []string{"", "\n", "a\r\nb\n", "\r\r\n\n\r", "x\ny\r\nz"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		want := CRLF(in)
		var buf bytes.Buffer
		if err := WriteCRLF(&buf, in); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("WriteCRLF(%q) = %q, CRLF gives %q", in, buf.Bytes(), want)
		}
		if CRLFSize(in) != int64(len(want)) {
			t.Fatalf("CRLFSize(%q) = %d, CRLF gives %d bytes", in, CRLFSize(in), len(want))
		}
		if bytes.Contains(want, []byte("\n")) && bytes.Count(want, []byte("\n")) != bytes.Count(want, []byte("\r\n")) {
			t.Fatalf("CRLF(%q) = %q leaves a bare line feed", in, want)
		}
	})
}
