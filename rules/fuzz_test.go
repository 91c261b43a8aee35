package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary text to the loader as a rule file (with the
// test stages of helpers_test.go registered, not the real ones). A rule file
// is written by hand and reloaded into a running server, so whatever it
// holds, Load must return either a rule set or errors that each name the
// file and say something, and never panic.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("../examples/rules/*.yaml")
	if len(seeds) == 0 {
		f.Fatal("no seed rule files in ../examples/rules")
	}
	for _, p := range seeds {
		if strings.HasSuffix(p, "_test.yaml") {
			continue
		}
		if raw, err := os.ReadFile(p); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte("pipeline: inbound\nrules:\n  - {name: a, when: 'msg.subject == \"x\"', action: reject 550 5.7.1 \"{{ msg.subject }}\"}\n"))
	f.Add([]byte("pipeline: inbound\nlists: {l: [a, b]}\nrules:\n  - {name: a, when: 'in_list(\"l\", envelope.mail_from)', action: junk}\n"))
	f.Add([]byte("pipeline: [\n"))
	// One directory per fuzzing process, rewritten for each input: a fresh
	// temporary directory per input made the fuzzer spend its time in
	// mkdir and cleanup.
	dir, data := f.TempDir(), f.TempDir()
	f.Fuzz(func(t *testing.T, raw []byte) {
		if err := os.WriteFile(filepath.Join(dir, "inbound.yaml"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		set, err := Load(dir, Options{DataDir: data})
		if err == nil {
			if set == nil {
				t.Fatal("no error and no rule set")
			}
			return
		}
		errs := Errors(err)
		if len(errs) == 0 {
			t.Fatalf("an error with no positioned errors: %v", err)
		}
		for _, e := range errs {
			if e.File == "" || strings.TrimSpace(e.Msg) == "" || e.Line < 0 || e.Col < 0 {
				t.Fatalf("error without a file or a message: %+v", e)
			}
		}
	})
}
