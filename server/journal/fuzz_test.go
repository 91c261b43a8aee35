package journal

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzScan feeds arbitrary file contents to the reader: it must report,
// skip or refuse, never panic, and never hand out a record from a line
// that is not whole.
func FuzzScan(f *testing.F) {
	f.Add([]byte(`{"journal":"sluice","version":1}` + "\n" + `{"seq":1,"id":"X","action":"accept"}` + "\n"))
	f.Add([]byte(`{"journal":"sluice","version":1}` + "\n" + `{"seq":1,"id":"X","act`))
	f.Add([]byte(`{"journal":"sluice","version":2}` + "\n"))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "20261205-0001.jsonl"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		_ = Scan(dir, func(r *Record) error {
			if r == nil {
				t.Fatal("nil record")
			}
			return nil
		}, func(string) {})
	})
}
