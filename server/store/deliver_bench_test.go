package store

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkDeliverParallel measures fsynced deliveries of 5 KB messages
// from parallel goroutines into the INBOXes of a few users.
func BenchmarkDeliverParallel(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	raw := bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n"), 80)
	var n atomic.Int64
	b.SetParallelism(10)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if err := s.Deliver(fmt.Sprintf("u%d@example.org", i%5), "INBOX", raw, "", time.Time{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkDeliverOpenMailbox is BenchmarkDeliverParallel with the
// INBOXes open (users logged in over IMAP): each delivery is also indexed,
// in batched index transactions.
func BenchmarkDeliverOpenMailbox(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var boxes []*Mailbox
	for u := 0; u < 5; u++ {
		a, err := s.Account(fmt.Sprintf("u%d@example.org", u))
		if err != nil {
			b.Fatal(err)
		}
		m, err := a.Mailbox("INBOX")
		if err != nil {
			b.Fatal(err)
		}
		boxes = append(boxes, m)
	}
	raw := bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n"), 80)
	var n atomic.Int64
	b.SetParallelism(10)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if err := s.Deliver(fmt.Sprintf("u%d@example.org", i%5), "INBOX", raw, "", time.Time{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	// Wait until every delivery is indexed.
	for {
		var indexed int
		for _, m := range boxes {
			st, _ := m.Status()
			indexed += int(st.Messages)
		}
		if indexed >= int(n.Load()) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
