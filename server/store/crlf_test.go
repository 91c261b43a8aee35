package store

import "testing"

// TestCRLF: bare line feeds become CRLF, those already after a CR stay,
// a lone CR is left as it is, and bareLFs counts what CRLF adds.
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
	}
}
