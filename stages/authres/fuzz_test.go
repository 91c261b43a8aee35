package authres

import (
	"bytes"
	"testing"
)

// FuzzStrip: Strip never panics, only removes whole header fields (the
// output is the input with some byte ranges of the header removed, the body
// untouched), and is idempotent.
func FuzzStrip(f *testing.F) {
	for _, s := range []string{
		"Authentication-Results: mx.example.net; spf=pass\r\nFrom: a@b\r\n\r\nbody\r\n",
		"Authentication-Results: (c (d)) \"mx.example.net\" 1; none\r\n\r\n",
		"authentication-results :\r\n mx.example.net.;\r\n\tdkim=pass\nX: y\n\nAuthentication-Results: mx.example.net\n",
		"Authentication-Results: \"unterminated\r\n\r\n",
		"Authentication-Results: (unterminated\r\n",
		"\r\n",
		"",
	} {
		f.Add([]byte(s), "mx.example.net")
	}
	f.Fuzz(func(t *testing.T, raw []byte, id string) {
		out := Strip(raw, id)
		if len(out) > len(raw) {
			t.Fatalf("output grew")
		}
		if !isSubsequence(out, raw) {
			t.Fatalf("output is not a subsequence of the input")
		}
		if again := Strip(out, id); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\n%q\n%q", out, again)
		}
		if h := headerEnd(raw); h >= 0 && !bytes.HasSuffix(out, raw[h:]) {
			t.Fatalf("body changed")
		}
	})
}

func isSubsequence(sub, s []byte) bool {
	i := 0
	for j := 0; j < len(s) && i < len(sub); j++ {
		if s[j] == sub[i] {
			i++
		}
	}
	return i == len(sub)
}

// headerEnd is the index of the empty line that ends the header, -1 if none.
func headerEnd(raw []byte) int {
	for pos := 0; pos < len(raw); {
		end := fieldEnd(raw, pos)
		if end == pos {
			return pos
		}
		pos = end
	}
	return -1
}
