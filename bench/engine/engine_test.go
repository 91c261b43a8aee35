package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/rules"
)

// benchMessages reads the corpus when SLUICE_CORPUS names it (bench/corpus.sh
// prints the directory), else the example messages.
func benchMessages(b *testing.B) [][]byte {
	b.Helper()
	if dir := os.Getenv("SLUICE_CORPUS"); dir != "" {
		msgs, err := loadCorpus(dir)
		if err != nil {
			b.Fatal(err)
		}
		return msgs
	}
	files, _ := filepath.Glob("../../examples/messages/*.eml")
	var msgs [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, raw)
	}
	return msgs
}

func BenchmarkParse(b *testing.B) {
	msgs := benchMessages(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := engine.NewMessage(engine.Envelope{}, msgs[i%len(msgs)])
		_ = m.Header().Get("Subject")
		_ = m.Body()
	}
}

func BenchmarkDryRun(b *testing.B) {
	msgs := benchMessages(b)
	p, err := pipeline("../../examples/rules")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		raw := msgs[i%len(msgs)]
		m := engine.NewMessage(engine.Envelope{}, raw)
		m.Envelope = rules.DeriveEnvelope(m)
		p.Begin(m).Evaluate(ctx, engine.PhaseData)
	}
}
