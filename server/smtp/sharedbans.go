package smtp

import (
	"context"
	"log/slog"
	"time"
)

// Bans is a store of auth-failure bans shared by several nodes (server/state
// on Redis): a client banned on one MX node is refused AUTH on all.
type Bans interface {
	Banned(ctx context.Context, ip string) (bool, error)
	AuthFailed(ctx context.Context, ip string, max int, ban time.Duration) error
}

// sharedBanTimeout bounds one call to the shared store: AUTH waits at most
// this for it, then the local count alone decides.
const sharedBanTimeout = time.Second

// sharedBanPause is how long the shared store is left alone after a call
// to it failed. An AUTH asks it twice or more (is the client banned; count
// this failure), so a hung Redis cost every login each of those timeouts,
// for as long as it stayed down; now the first failure costs one, and the
// logins of the next seconds go by the local count alone, as the DNS cache
// on Redis does.
const sharedBanPause = 10 * time.Second

// sharedBanned asks the shared store; an error counts as not banned (the
// local limiter still applies), so a store that is down never locks every
// user out.
func (a *authLimiter) sharedBanned(ip string) bool {
	if a.shared == nil || a.sharedPaused() {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedBanTimeout)
	defer cancel()
	b, err := a.shared.Banned(ctx, ip)
	if err != nil {
		a.sharedFailed(ip, err)
	}
	return b
}

func (a *authLimiter) sharedFail(ip string) {
	if a.shared == nil || a.sharedPaused() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedBanTimeout)
	defer cancel()
	if err := a.shared.AuthFailed(ctx, ip, a.max, a.ban); err != nil {
		a.sharedFailed(ip, err)
	}
}

// sharedPaused reports whether the shared store failed within the pause.
func (a *authLimiter) sharedPaused() bool {
	return a.now().UnixNano() < a.sharedDownUntil.Load()
}

// sharedFailed logs a failed call and starts the pause.
func (a *authLimiter) sharedFailed(ip string, err error) {
	slog.Warn("shared ban store failed; bans are this node's alone for a while", "ip", ip, "err", err, "pause", sharedBanPause)
	a.sharedDownUntil.Store(a.now().Add(sharedBanPause).UnixNano())
}
