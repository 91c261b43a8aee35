package bayes

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/engine"
)

// updateGolden rewrites testdata/tokens.golden from the tokenizer as it is.
// Only a change that means to alter the features may do that (and then
// bumps TokenizerVersion); a speed change must leave the file as it is.
var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/tokens.golden")

// goldenOptions are the option sets the token stream is pinned for: the
// default, and every switch on (so that the paths only the benchmark takes,
// such as triples and skip pairs, are pinned too).
var goldenOptions = map[string]Options{
	"default": DefaultOptions,
	"all": {Headers: true, HeaderNames: true, MIME: true, HTMLMarkup: true, HTMLTags: true, URLs: true,
		URLPaths: true, Buckets: true, Pairs: true, KeepCase: true, ReceivedBy: true, ReceivedIP: true,
		SkipPairs: true, Consistency: true, Triples: true, Recipient: true, MaxTokens: 3000},
}

// goldenLines tokenizes every message fixture of the repository with each
// option set and returns one line per message: the options, the file, the
// number of tokens and a digest of the tokens in their order.
func goldenLines(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("../../engine/testdata/mime/*/*.eml")
	more, _ := filepath.Glob("../../examples/rules/testdata/*.eml")
	files = append(files, more...)
	if len(files) < 40 {
		t.Fatalf("only %d message fixtures found", len(files))
	}
	var lines []string
	for name, o := range goldenOptions {
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			env := engine.Envelope{Rcpt: []string{"user@example.com"}}
			toks := o.Tokenize(engine.NewMessage(env, TrimFromLine(raw)))
			sum := sha256.Sum256([]byte(strings.Join(toks, "\n")))
			lines = append(lines, fmt.Sprintf("%s %s %d %x", name, filepath.ToSlash(f), len(toks), sum[:12]))
		}
		for i := range 20 {
			toks := o.Tokenize(engine.NewMessage(engine.Envelope{}, synthMessage(i%2 == 0, i)))
			sum := sha256.Sum256([]byte(strings.Join(toks, "\n")))
			lines = append(lines, fmt.Sprintf("%s synth-%d %d %x", name, i, len(toks), sum[:12]))
		}
	}
	sort.Strings(lines)
	return lines
}

// TestTokenStreamGolden pins the exact token stream (order included) of
// every fixture: work on the tokenizer's speed must not change a feature,
// or a model trained before would unlearn tokens it never learnt.
func TestTokenStreamGolden(t *testing.T) {
	got := goldenLines(t)
	path := filepath.Join("testdata", "tokens.golden")
	if *updateGolden {
		if err := os.WriteFile(path, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("%d golden lines, %d now", len(want), len(got))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("token stream changed:\n got %s\nwant %s", got[i], want[i])
		}
	}
}
