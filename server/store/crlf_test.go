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

// FuzzCRLF: CRLF and WriteCRLF give what a byte-by-byte conversion gives,
// CRLFSize counts it, and WriteCRLFRange writes the slice of it it is
// asked for, for any input.
func FuzzCRLF(f *testing.F) {
	for _, s := range []string{"", "\n", "a\r\nb\n", "\r\r\n\n\r", "x\ny\r\nz"} {
		f.Add([]byte(s), uint16(1), uint16(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, off, n uint16) {
		var want []byte
		for i, c := range in {
			if c == '\n' && (i == 0 || in[i-1] != '\r') {
				want = append(want, '\r')
			}
			want = append(want, c)
		}
		if got := CRLF(in); !bytes.Equal(got, want) {
			t.Fatalf("CRLF(%q) = %q, want %q", in, got, want)
		}
		var buf bytes.Buffer
		if err := WriteCRLF(&buf, in); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("WriteCRLF(%q) = %q, want %q", in, buf.Bytes(), want)
		}
		if CRLFSize(in) != int64(len(want)) {
			t.Fatalf("CRLFSize(%q) = %d, want %d", in, CRLFSize(in), len(want))
		}
		checkRange(t, in, want, int64(off), int64(n))
	})
}

// checkRange: WriteCRLFRange(in, off, n) writes crlf[off:off+n], cut to
// what there is, and CRLFRangeSize counts it.
func checkRange(t *testing.T, in, crlf []byte, off, n int64) {
	t.Helper()
	from := min(off, int64(len(crlf)))
	want := crlf[from:min(from+n, int64(len(crlf)))]
	var buf bytes.Buffer
	wrote, err := WriteCRLFRange(&buf, in, off, n)
	if err != nil || !bytes.Equal(buf.Bytes(), want) || wrote != int64(len(want)) {
		t.Fatalf("WriteCRLFRange(%q, %d, %d) wrote %q (%d), %v; want %q", in, off, n, buf.Bytes(), wrote, err, want)
	}
	if got := CRLFRangeSize(in, off, n); got != int64(len(want)) {
		t.Fatalf("CRLFRangeSize(%q, %d, %d) = %d, want %d", in, off, n, got, len(want))
	}
}

// TestCRLFRange: the windows at the edges, a CRLF cut in two, past the
// end, and empty.
func TestCRLFRange(t *testing.T) {
	in := []byte("ab\ncd\r\nef\n")
	crlf := CRLF(in) // "ab\r\ncd\r\nef\r\n", 12 bytes
	for _, c := range []struct{ off, n int64 }{
		{0, 12}, {0, 100}, {0, 2}, {0, 3}, {2, 1}, {3, 1}, {3, 4}, {11, 1}, {11, 5}, {12, 1}, {50, 10}, {4, 0}, {0, 0},
	} {
		checkRange(t, in, crlf, c.off, c.n)
	}
}
