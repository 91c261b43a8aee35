package store

import (
	"testing"
	"time"
)

// BenchmarkStoreAll10000 measures STORE 1:* +FLAGS (\Seen) over 10,000
// messages as SetFlags answers it (the index commit; ms/store) and the
// renames of the files that follow in the next pause (ms/renames), then
// undoes both, untimed.
func BenchmarkStoreAll10000(b *testing.B) {
	const n = 10000
	s, err := Open(b.TempDir(), Options{Hostname: "benchhost", Rescan: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	m := filledInbox(b, s, "bench@example.org", n)
	uids := allUIDs(n)
	holdRenames.Store(true) // only RenameFiles renames, timed apart
	defer holdRenames.Store(false)
	var store, renames time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		if err := m.SetFlags(uids, '+', []string{`\Seen`}, nil); err != nil {
			b.Fatal(err)
		}
		store += time.Since(t)
		holdRenames.Store(false)
		t = time.Now()
		m.RenameFiles()
		renames += time.Since(t)
		b.StopTimer()
		if err := m.SetFlags(uids, '-', []string{`\Seen`}, nil); err != nil {
			b.Fatal(err)
		}
		m.RenameFiles()
		holdRenames.Store(true)
		b.StartTimer()
	}
	b.ReportMetric(float64(store.Milliseconds())/float64(b.N), "ms/store")
	b.ReportMetric(float64(renames.Milliseconds())/float64(b.N), "ms/renames")
}
