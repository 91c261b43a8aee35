package queue_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/queue"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSoftBounceDefersRelayFailure: with SoftBounce, a destination that
// answers 550 does not make a DSN; the message stays queued past its
// lifetime, the log keeps the 550, and once the destination takes it
// (the operator fixed the cause) it is delivered.
func TestSoftBounceDefersRelayFailure(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	logs := &lockedBuffer{}
	s := newSystem(t, func(o *queue.Options) {
		o.SoftBounce = true
		o.MaxAge = time.Hour
		o.Now = func() time.Time { return time.Unix(0, clock.Load()) }
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	var refuse atomic.Bool
	refuse.Store(true)
	s.smtp.Rcpt = func(to string) error {
		if refuse.Load() {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
		}
		return nil
	}
	env := queue.Envelope{From: "alice@local.test", AuthUser: "alice@local.test", Rcpt: []queue.Recipient{{Addr: "gone@dest.test"}}}
	if _, err := s.q.Put(context.Background(), env, []byte(outMsg)); err != nil {
		t.Fatal(err)
	}
	// The queue's clock moves only when the test moves it: each poll
	// makes the next retry due.
	tick := func() { clock.Add(int64(20 * time.Millisecond)) }
	queue.WaitFor(t, "two refused attempts", func() bool { tick(); l := s.q.List(); return len(l) == 1 && l[0].Attempts >= 2 })
	clock.Add(int64(2 * time.Hour)) // past MaxAge: still no bounce
	queue.WaitFor(t, "an attempt after expiry", func() bool { tick(); l := s.q.List(); return len(l) == 1 && l[0].Attempts >= 3 })
	if n := len(s.mailbox(t, "alice@local.test", "")); n != 0 {
		t.Fatalf("alice got %d messages: a DSN went out under soft_bounce", n)
	}
	if l := logs.String(); !strings.Contains(l, "soft_bounce: a permanent delivery failure was deferred") ||
		!strings.Contains(l, "rcpt=gone@dest.test status=5.1.1") || !strings.Contains(l, "550 5.1.1 no such user here") {
		t.Errorf("log lacks the deferred failure:\n%s", l)
	}
	refuse.Store(false)
	queue.WaitFor(t, "delivery once accepted", func() bool { tick(); return len(s.smtp.Messages()) == 1 && len(s.q.List()) == 0 })
	if n := len(s.mailbox(t, "alice@local.test", "")); n != 0 {
		t.Fatalf("alice got %d messages", n)
	}
}
