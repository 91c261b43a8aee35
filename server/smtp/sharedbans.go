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

// sharedBanned asks the shared store; an error counts as not banned (the
// local limiter still applies), so a store that is down never locks every
// user out.
func (a *authLimiter) sharedBanned(ip string) bool {
	if a.shared == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedBanTimeout)
	defer cancel()
	b, err := a.shared.Banned(ctx, ip)
	if err != nil {
		slog.Warn("shared ban store failed", "ip", ip, "err", err)
	}
	return b
}

func (a *authLimiter) sharedFail(ip string) {
	if a.shared == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedBanTimeout)
	defer cancel()
	if err := a.shared.AuthFailed(ctx, ip, a.max, a.ban); err != nil {
		slog.Warn("shared ban store failed", "ip", ip, "err", err)
	}
}
