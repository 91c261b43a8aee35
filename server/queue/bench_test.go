package queue

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
)

// BenchmarkPut measures durable Puts of 5 KB messages from parallel
// callers (SMTP sessions): group commit makes one fsync serve many.
// Run with -cpu to vary the parallelism, e.g. -cpu 1,20 (GOMAXPROCS is
// the number of callers per CPU only by default; SetParallelism is 10).
func BenchmarkPut(b *testing.B) {
	var syncs atomic.Int64
	q, err := Open(b.TempDir(), Options{Fsync: func(f *os.File) error { syncs.Add(1); return f.Sync() }})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	raw := make([]byte, 5120)
	e := env("u@local.test")
	b.SetBytes(int64(len(raw)))
	b.SetParallelism(10)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := q.Put(context.Background(), e, raw); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/float64(syncs.Load()), "puts/fsync")
}
