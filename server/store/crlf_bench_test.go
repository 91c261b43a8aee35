package store

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkCRLFPreview: the first 2 KB of a 10 MB message with bare line
// feeds (BODY.PEEK[]<0.2048>, a client's preview), as a range written
// from the file and as the slice of a converted copy (before).
func BenchmarkCRLFPreview(b *testing.B) {
	msg := bytes.Repeat([]byte("a line of a large message, with a bare line feed\n"), 10<<20/50)
	b.Run("range", func(b *testing.B) {
		for b.Loop() {
			if CRLFRangeSize(msg, 0, 2048) != 2048 {
				b.Fatal("size")
			}
			if _, err := WriteCRLFRange(io.Discard, msg, 0, 2048); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("copy", func(b *testing.B) {
		for b.Loop() {
			if _, err := io.Discard.Write(CRLF(msg)[:2048]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
