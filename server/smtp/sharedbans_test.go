package smtp

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// failingBans is a shared ban store that is down: every call fails, and
// is counted.
type failingBans struct{ calls atomic.Int32 }

func (b *failingBans) Banned(context.Context, string) (bool, error) {
	b.calls.Add(1)
	return false, errors.New("state: redis: i/o timeout")
}

func (b *failingBans) AuthFailed(context.Context, string, int, time.Duration) error {
	b.calls.Add(1)
	return errors.New("state: redis: i/o timeout")
}

// TestSharedBansPauseAfterFailure: once the shared store failed, the
// logins of the next 10 s do not ask it (each call to a hung Redis costs
// its timeout, and an AUTH makes two), the local count still bans, and
// after the pause the store is asked again.
func TestSharedBansPauseAfterFailure(t *testing.T) {
	shared := &failingBans{}
	a := newAuthLimiter(2, time.Hour, shared)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return now }
	if a.blocked("192.0.2.1") {
		t.Fatal("blocked with no failure")
	}
	if n := shared.calls.Load(); n != 1 {
		t.Fatalf("%d calls to the shared store, want 1", n)
	}
	for range 3 {
		a.fail("192.0.2.1")
		a.blocked("192.0.2.1")
	}
	if n := shared.calls.Load(); n != 1 {
		t.Errorf("%d calls to the shared store within the pause after its failure, want still 1", n)
	}
	if !a.blocked("192.0.2.1") {
		t.Error("the local count did not ban while the shared store was down")
	}
	now = now.Add(sharedBanPause + time.Second)
	a.blocked("192.0.2.2")
	if n := shared.calls.Load(); n != 2 {
		t.Errorf("%d calls to the shared store after the pause, want 2", n)
	}
}
