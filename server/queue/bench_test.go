package queue

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/store"
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

// BenchmarkPutAndDeliver measures the spool and the Maildir store
// together: parallel durable Puts of 5 KB messages to 20 local users, each
// delivered (fsynced) into its Maildir; the time runs until the last one
// is delivered.
func BenchmarkPutAndDeliver(b *testing.B) {
	data := b.TempDir()
	st, err := store.Open(data, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var done atomic.Int64
	q, err := Open(Dir(data), Options{Deliverer: st, OnDone: func(string, bool) { done.Add(1) }})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	go q.Run(context.Background())
	waitDone := func(n int64) {
		for done.Load() < n {
			time.Sleep(time.Millisecond)
		}
	}
	// One message per user first: the store creates each user's folders.
	for u := range 20 {
		q.Put(context.Background(), env(fmt.Sprintf("u%d@local.test", u)), body(u))
	}
	waitDone(20)
	raw := make([]byte, 5120)
	var next atomic.Int64
	b.SetParallelism(10)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u := next.Add(1) % 20
			if _, err := q.Put(context.Background(), env(fmt.Sprintf("u%d@local.test", u)), raw); err != nil {
				b.Error(err)
				return
			}
		}
	})
	waitDone(20 + int64(b.N))
}
