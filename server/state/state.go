// Package state keeps what outlives one message and should be the same on
// every MX node: rate-limit counters, greylist entries and auth-failure
// bans. Two implementations sit behind one interface: Embedded, a bbolt
// file in the data directory (one node), and Redis (several nodes sharing
// one Redis, as rspamd does). The engine and the SMTP server see only the
// interface; cmd/sluice picks one from the config's `state:` block.
package state

import (
	"context"
	"time"

	"github.com/sluicemail/sluice/engine"
)

// Store is a state: the engine's rate limits and greylisting, and the
// SMTP server's auth-failure bans.
type Store interface {
	engine.State
	Bans
	// Close releases the store (the file, the connections).
	Close() error
}

// Bans are the auth-failure bans (limits.auth_failures_per_ip and
// limits.auth_ban in the config).
type Bans interface {
	// Banned reports whether ip may not try AUTH now.
	Banned(ctx context.Context, ip string) (bool, error)
	// AuthFailed records a failed AUTH from ip; at max failures within ban
	// the ip is banned for ban and its count starts over.
	AuthFailed(ctx context.Context, ip string, max int, ban time.Duration) error
}

// rateTTL is how long a rate counter is worth keeping: the current window
// and the next one, which still weighs it.
func rateTTL(per time.Duration) time.Duration { return 2 * per }
