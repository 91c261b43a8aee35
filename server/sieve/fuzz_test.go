package sieve

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary text to the compiler and runs what compiles:
// neither may panic or run past its limits.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/diff/scripts", "testdata/diff/invalid"} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.sieve"))
		for _, p := range paths {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(string(data))
			}
		}
	}
	msg := ParseMessage([]byte("From: A <a+b@example.org>\r\nTo: c@example.com\r\nSubject: =?utf-8?q?x=C3=A9?=\r\n\r\nbody\r\n"))
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Compile(src, Limits{Steps: 10000})
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("compile error of type %T: %v", err, err)
			}
			return
		}
		res, _ := s.Execute(Env{Envelope: Envelope{From: "a@example.org", To: "c@example.com"}, Msg: msg})
		_ = res.Print()
	})
}
