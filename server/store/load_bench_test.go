package store

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkLoadAfterRestart measures opening a 10,000-message INBOX whose
// index is on disk, as the first SELECT after a restart does: the store
// and the account opened (ms/account: the index file), then the mailbox
// loaded and brought in step with its directory (ms/mailbox), listing
// new/ and cur/ or not (savedstamp.go). The mailbox was filled and left
// to settle before the first round.
func BenchmarkLoadAfterRestart(b *testing.B) {
	const n = 10000
	dir := b.TempDir()
	opts := Options{Hostname: "benchhost", Rescan: time.Hour}
	s, err := Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	filledInbox(b, s, "bench@example.org", n)
	time.Sleep(dirSettle + 100*time.Millisecond)
	s.Close()
	box := filepath.Join(dir, "mail", "example.org", "bench")
	b.Run("listed", func(b *testing.B) { loadAfterRestart(b, dir, box, true) })
	b.Run("stamp-saved", func(b *testing.B) { loadAfterRestart(b, dir, box, false) })
}

// loadAfterRestart opens the store and INBOX b.N times; with list, the
// directories' mtimes move before each round, as a change while the
// store was down would, so the saved stamp is stale and the load lists.
func loadAfterRestart(b *testing.B, dir, box string, list bool) {
	const n, user = 10000, "bench@example.org"
	opts := Options{Hostname: "benchhost", Rescan: time.Hour}
	var account, mailbox time.Duration
	for i := 0; i < b.N; i++ {
		if list {
			ageDirs(b, box, time.Now().Add(-time.Duration(i+1)*time.Minute).Truncate(time.Second))
		}
		t := time.Now()
		s, err := Open(dir, opts)
		if err != nil {
			b.Fatal(err)
		}
		a, err := s.Account(user)
		if err != nil {
			b.Fatal(err)
		}
		account += time.Since(t)
		t = time.Now()
		m, err := a.Mailbox("INBOX")
		if err != nil {
			b.Fatal(err)
		}
		mailbox += time.Since(t)
		if st, err := m.Status(); err != nil || st.Messages != n {
			b.Fatalf("status after restart: %+v, %v; want %d messages", st, err, n)
		}
		s.Close()
	}
	b.ReportMetric(float64(account.Microseconds())/1000/float64(b.N), "ms/account")
	b.ReportMetric(float64(mailbox.Microseconds())/1000/float64(b.N), "ms/mailbox")
}

// filledInbox delivers n messages of 5 KB to user's INBOX, opens it and
// waits until fill has read them all and moved them to cur/ (lazy.go).
func filledInbox(b *testing.B, s *Store, user string, n int) *Mailbox {
	b.Helper()
	raw := bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n"), 80)
	for i := 0; i < n; i++ {
		if err := s.Deliver(user, "INBOX", raw, "", time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	m := inbox(b, s, user)
	for left := n; left > 0; time.Sleep(50 * time.Millisecond) {
		left = 0
		m.View(func(msgs []*Message) error {
			for _, msg := range msgs {
				if msg.sub == "new" || msg.lazy != nil {
					left++
				}
			}
			return nil
		})
	}
	return m
}
