package smtp

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// BenchmarkAccept measures messages per second through the MX listener:
// 20 parallel sessions, 5 KB messages, the example-sized test rules, each
// 250 given only after the spool's fsync; it also reports how long until
// all of them are in the Maildir.
//
//	go test -run XXX -bench Accept -benchtime 2000x ./server/smtp
func BenchmarkAccept(b *testing.B) {
	h := newHarness(b, harnessOpts{noQuota: true})
	body := strings.Repeat(strings.Repeat("x", 76)+"\r\n", 5120/78)
	msg := simpleMessage("load@example.org", "alice@example.net", "load", body)
	const sessions = 20
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := gosmtp.Dial(h.mx)
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			for next.Add(1) <= int64(b.N) {
				if err := c.SendMail("load@example.org", []string{"alice@example.net"}, strings.NewReader(msg)); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	accepted := time.Since(start)
	for len(h.messages("alice@example.net", "INBOX")) < b.N-int(failed.Load()) {
		time.Sleep(10 * time.Millisecond)
	}
	delivered := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Errorf("%d transactions failed", failed.Load())
	}
	b.ReportMetric(float64(b.N)/accepted.Seconds(), "accepted/s")
	b.ReportMetric(float64(b.N)/delivered.Seconds(), "delivered/s")
}
