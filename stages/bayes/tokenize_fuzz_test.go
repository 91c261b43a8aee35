package bayes

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicemail/sluice/engine"
)

// FuzzTokenize feeds arbitrary bytes to the tokenizer: it must not panic,
// and must return distinct, non-empty, NUL-free tokens within the cap.
func FuzzTokenize(f *testing.F) {
	files, _ := filepath.Glob("../../engine/testdata/mime/*/*.eml")
	if len(files) == 0 {
		f.Fatal("no seed messages in ../../engine/testdata/mime")
	}
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("Subject: =?utf-8?b?////?=\n\n<html><a href=http://[::1]:x/>http://a.b</a><!--"))
	f.Add([]byte("Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/html\n\n<div style=display:none>x</div>\n--b--"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		o := DefaultOptions
		o.MaxTokens = 300
		o.Pairs = true
		toks := o.Tokenize(engine.NewMessage(engine.Envelope{}, TrimFromLine(raw)))
		if len(toks) > o.MaxTokens {
			t.Fatalf("%d tokens, cap %d", len(toks), o.MaxTokens)
		}
		checkDistinct(t, toks)
	})
}
