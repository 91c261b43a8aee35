package bayes

import (
	"testing"

	"github.com/sluicemail/sluice/engine"
)

// The corpus benchmark is bench/bayes (run.sh); these measure the same
// steps on the package's own fixtures, with no download.

func BenchmarkTokenize(b *testing.B) {
	raw := htmlSpam(b)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		Tokenize(engine.NewMessage(engine.Envelope{}, raw))
	}
}

func BenchmarkClassify(b *testing.B) {
	m := NewModel(NewMemoryStore())
	if err := train(m, 0, 300); err != nil {
		b.Fatal(err)
	}
	raw := htmlSpam(b)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := m.Classify(engine.NewMessage(engine.Envelope{}, raw)); err != nil {
			b.Fatal(err)
		}
	}
}
