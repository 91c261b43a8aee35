package rdns_test

import (
	"testing"

	"github.com/sluicemail/sluice/stages"
)

// FuzzSettings: any settings block gives a stage or an error, never a panic.
func FuzzSettings(f *testing.F) {
	for _, s := range []string{"max_names: 3", "max_names: -1", "max_names: [x]", "{}", "!x 00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if st, err := stages.New("rdns", stages.Settings{Raw: []byte(raw)}); err == nil && st.Namespace() != "rdns" {
			t.Fatal("wrong namespace")
		}
	})
}
