package bayes

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluicemail/sluice/engine"
)

// TestBorrowedTokensSame checks that the pooled path Classify takes (a
// reused list, tokens in an arena) yields exactly Tokenize's tokens, and
// that tokens borrowed for one message are intact after the list has been
// given back and reused for others (the arena's bytes are never rewritten).
func TestBorrowedTokensSame(t *testing.T) {
	files, _ := filepath.Glob("../../engine/testdata/mime/*/*.eml")
	if len(files) < 20 {
		t.Fatalf("only %d message fixtures found", len(files))
	}
	var kept [][]string // copies of the borrowed slices (same strings)
	var want [][]string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := engine.NewMessage(engine.Envelope{}, TrimFromLine(raw))
		w := DefaultOptions.Tokenize(m)
		b := DefaultOptions.borrowTokens(engine.NewMessage(engine.Envelope{}, TrimFromLine(raw)))
		if !slices.Equal(b.list, w) {
			t.Fatalf("%s: borrowed tokens differ from Tokenize's:\n%q\n%q", f, b.list, w)
		}
		kept = append(kept, slices.Clone(b.list))
		want = append(want, w)
		b.giveBack()
	}
	for i := range kept {
		if !slices.Equal(kept[i], want[i]) {
			t.Fatalf("%s: a borrowed token changed after its list was reused", files[i])
		}
	}
}
