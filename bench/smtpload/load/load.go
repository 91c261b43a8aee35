// Package load drives SMTP sessions against a server for the benchmarks
// under bench/: each session keeps one connection and sends messages of a
// given size to local users one after another (RFC 5321 transactions with
// RSET-free reuse), reconnecting after any failure, and records the
// Message-ID of every message the server acknowledged with 250.
package load

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// Config describes a load run.
type Config struct {
	Addr     string // host:port of the SMTP listener
	Sessions int    // parallel sessions
	Messages int    // messages to send in total; 0 = until ctx ends
	Size     int    // message size in bytes
	Users    int    // recipients are u0..u(Users-1)@Domain
	Domain   string
	From     string
	RunID    string // makes Message-IDs unique across runs
}

// Result is what a run achieved.
type Result struct {
	Acked  []string // Message-IDs acknowledged with 250
	Failed int64    // transactions that got an error (connection lost, 4xx)
	// Ambiguous counts transactions cut after the whole message was sent
	// and before the reply: the server may have stored the message, and
	// the client sends it again (a duplicate that is the client's, not
	// the server's).
	Ambiguous int64
	Elapsed   time.Duration
	PerAcked  time.Duration
	// Slowest is the longest transaction (MAIL to the reply after DATA):
	// what a stalled check costs a client at worst.
	Slowest time.Duration
}

// Run sends until cfg.Messages are acknowledged or ctx ends.
func Run(ctx context.Context, cfg Config) *Result {
	var (
		next    atomic.Int64
		failed  atomic.Int64
		ambig   atomic.Int64
		mu      sync.Mutex
		acked   []string
		slowest time.Duration
		wg      sync.WaitGroup
	)
	start := time.Now()
	for s := range cfg.Sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *smtp.Client
			defer func() {
				if c != nil {
					c.Quit()
				}
			}()
			for ctx.Err() == nil {
				n := next.Add(1)
				if cfg.Messages > 0 && n > int64(cfg.Messages) {
					return
				}
				id := fmt.Sprintf("<%s.%d.%d@load.test>", cfg.RunID, s, n)
				for ctx.Err() == nil {
					var err error
					if c == nil {
						c, err = dial(cfg.Addr)
					}
					sent := false
					if err == nil {
						t0 := time.Now()
						sent, err = send(c, cfg, id, int(n))
						mu.Lock()
						slowest = max(slowest, time.Since(t0))
						mu.Unlock()
					}
					if err != nil && sent {
						ambig.Add(1)
					}
					if err == nil {
						mu.Lock()
						acked = append(acked, id)
						mu.Unlock()
						break
					}
					failed.Add(1)
					if c != nil {
						c.Close()
						c = nil
					}
					time.Sleep(time.Duration(20+rand.IntN(50)) * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	r := &Result{Acked: acked, Failed: failed.Load(), Ambiguous: ambig.Load(), Elapsed: time.Since(start), Slowest: slowest}
	if len(acked) > 0 {
		r.PerAcked = r.Elapsed / time.Duration(len(acked))
	}
	return r
}

func dial(addr string) (*smtp.Client, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return nil, err
	}
	c.CommandTimeout = 30 * time.Second
	c.SubmissionTimeout = 30 * time.Second
	if err := c.Hello("load.test"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// send runs one transaction. A failed transaction is retried with the
// same Message-ID on a new connection: the server may have stored it
// (its 250 was lost), which is what the crash test counts as a duplicate.
// sent reports that the whole message went out before the error.
func send(c *smtp.Client, cfg Config, id string, n int) (sent bool, err error) {
	to := fmt.Sprintf("u%d@%s", n%max(cfg.Users, 1), cfg.Domain)
	if err := c.Mail(cfg.From, nil); err != nil {
		return false, err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return false, err
	}
	w, err := c.Data()
	if err != nil {
		return false, err
	}
	if _, err := w.Write(Message(id, cfg.From, to, cfg.Size)); err != nil {
		w.Close()
		return false, err
	}
	return true, w.Close()
}

// BodyLine is every line of a message body, so that a checker can tell a
// complete message from a damaged one.
var BodyLine = strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789 ", 2)[:72] + "\r\n"

// Message builds a message of about size bytes with the given Message-ID.
func Message(id, from, to string, size int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: load test\r\nMessage-ID: %s\r\nDate: %s\r\n\r\n",
		from, to, id, time.Now().Format(time.RFC1123Z))
	for b.Len() < size {
		b.WriteString(BodyLine)
	}
	return []byte(b.String())
}
