package journal

import (
	"strings"
	"testing"
)

// BenchmarkAppend is the journal's own cost per verdict: encoding and one
// write of a record with facts and DNS answers, and a 5 KB message copy.
func BenchmarkAppend(b *testing.B) {
	j, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	body := []byte(strings.Repeat("x", 5120))
	b.ReportAllocs()
	for b.Loop() {
		r := sample("accept")
		r.Stored = &Stored{Queue: "Q", Size: len(body)}
		if err := j.Append(r, body); err != nil {
			b.Fatal(err)
		}
	}
}
