package queue

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// recorder is a Deliverer that keeps what it gets and can be made to fail.
type recorder struct {
	mu   sync.Mutex
	got  []delivery
	fail func(user string) error
}

type delivery struct {
	user, mailbox string
	raw           []byte
}

func (r *recorder) Deliver(user, mailbox string, raw []byte, flags string, date time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(user); err != nil {
			return err
		}
	}
	r.got = append(r.got, delivery{user, mailbox, append([]byte(nil), raw...)})
	return nil
}

func (r *recorder) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

func (r *recorder) setFail(f func(string) error) {
	r.mu.Lock()
	r.fail = f
	r.mu.Unlock()
}

// fastOpts makes retries and scans quick for tests.
func fastOpts(d *recorder) Options {
	return Options{Deliverer: d, Hostname: "mx.sluice.test", Retry: []time.Duration{5 * time.Millisecond},
		ScanInterval: 5 * time.Millisecond}
}

func mustOpen(t *testing.T, dir string, o Options) *Queue {
	t.Helper()
	q, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// running is a Queue with Run going.
type running struct {
	q      *Queue
	cancel context.CancelFunc
	done   chan struct{}
}

func start(q *Queue) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{q: q, cancel: cancel, done: make(chan struct{})}
	go func() {
		q.Run(ctx)
		close(r.done)
	}()
	return r
}

func (r *running) stop() {
	r.cancel()
	<-r.done
	r.q.Close()
}

// crash abandons the queue as a killed process would: workers stop, the
// lock goes, and nothing is flushed or closed in an orderly way.
func (r *running) crash() {
	r.cancel()
	<-r.done
	r.q.lock.Close()
}

// waitFor polls cond until it holds or the test times out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func env(to ...string) Envelope {
	e := Envelope{From: "sender@remote.test"}
	for _, u := range to {
		e.Rcpt = append(e.Rcpt, Recipient{Addr: u, Local: true, User: u})
	}
	return e
}

func body(i int) []byte {
	return []byte(fmt.Sprintf("Subject: message %d\r\nMessage-ID: <%d@test>\r\n\r\nbody %d\r\n", i, i, i))
}
