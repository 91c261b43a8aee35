package managesieve

import (
	"bufio"
	"strings"
	"testing"
)

// FuzzCommand: the command reader takes any bytes without panicking and
// never returns a string over its limits.
func FuzzCommand(f *testing.F) {
	for _, s := range []string{
		"PUTSCRIPT \"a\" {5+}\r\nkeep;\r\n", "AUTHENTICATE \"PLAIN\" \"AGJvYgBwdw==\"\r\n",
		"LISTSCRIPTS\r\n", "\"a\\\"b\" {3}\r\nabc x\n", "{99999999999+}\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rd := &reader{r: bufio.NewReader(strings.NewReader(in)), maxLit: 1024}
		for i := 0; i < 100; i++ {
			words, err := rd.command()
			if err != nil {
				return
			}
			for _, w := range words {
				if len(w) > maxLine && len(w) > rd.maxLit {
					t.Fatalf("word of %d bytes", len(w))
				}
			}
		}
	})
}
