package engine

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// State is the memory that outlives one message: rate-limit counters and
// greylist entries. The server hands the pipeline an implementation (the
// data directory, or Redis shared by several nodes); the engine only calls
// it. Every method must honour ctx, so that a state that cannot answer
// costs a message its timeout and never more.
type State interface {
	// RateHit counts n events under key against limit and returns the
	// count in the window, including them. When the count would pass the
	// limit the events are not counted, exceeded is true and count is the
	// count before them.
	RateHit(ctx context.Context, key string, limit Rate, n int) (count int, exceeded bool, err error)
	// Greylist looks up a triplet, records it and says whether it passes.
	Greylist(ctx context.Context, t Triplet, s GreylistSettings) (GreylistResult, error)
}

// Rate is a limit: Count events per Per.
type Rate struct {
	Count int
	Per   time.Duration
}

func (r Rate) String() string { return fmt.Sprintf("%d/%s", r.Count, r.Per) }

// rateUnits are the unit words of a limit ("3/h", "100/1m").
var rateUnits = map[string]time.Duration{
	"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour,
}

// ParseRate reads a limit: a count, a slash and a period, which is a unit
// (s, m, h, d) with an optional multiplier ("100/1m", "3/h", "500/2d") or a
// Go duration ("10/90s", "5/1h30m").
func ParseRate(s string) (Rate, error) {
	count, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if !ok || err != nil || n < 0 {
		return Rate{}, fmt.Errorf("limit %q: want COUNT/PERIOD, e.g. \"100/h\" or \"3/10m\"", s)
	}
	per = strings.TrimSpace(per)
	d, err := parsePeriod(per)
	if err != nil || d < time.Second || d > maxPeriod {
		return Rate{}, fmt.Errorf("limit %q: the period %q is not a duration from 1s to 366d (s, m, h, d)", s, per)
	}
	return Rate{Count: n, Per: d}, nil
}

// maxPeriod bounds a limit's period (and keeps n*unit from overflowing).
const maxPeriod = 366 * 24 * time.Hour

func parsePeriod(per string) (time.Duration, error) {
	if u, ok := rateUnits[per]; ok {
		return u, nil
	}
	i := strings.IndexFunc(per, func(r rune) bool { return r < '0' || r > '9' })
	if i > 0 {
		if u, ok := rateUnits[per[i:]]; ok {
			n, err := strconv.ParseInt(per[:i], 10, 64)
			if err == nil && n > 0 && n <= int64(maxPeriod/u) {
				return time.Duration(n) * u, nil
			}
		}
	}
	return time.ParseDuration(per)
}

// Triplet is what greylisting remembers: the client's network, the sender
// and one recipient.
type Triplet struct {
	Network string // "192.0.2.0/24", "2001:db8:1:2::/64"
	Sender  string // MAIL FROM, lower-case ("" for the null sender)
	Rcpt    string // one RCPT TO, lower-case
}

// Key is the triplet as one string, for stores keyed by strings.
func (t Triplet) Key() string { return t.Network + "|" + t.Sender + "|" + t.Rcpt }

// ClientNetwork is the network greylisting and its allow list see for a
// client: its /24 for IPv4, its /64 for IPv6, because big senders retry
// from another address of the same pool.
func ClientNetwork(ip netip.Addr) string {
	ip = ip.Unmap()
	bits := 64
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return ip.String()
	}
	return p.String()
}

// GreylistSettings are the `greylist:` block of a rule file's stages.
type GreylistSettings struct {
	Delay     time.Duration // a retry passes only after this; default 5m
	Window    time.Duration // and within this of the first try; default 24h
	PassAfter int           // a network that passed this many triplets is let through; 0 never
	Keep      time.Duration // how long a passed triplet and a network's passes are kept; default 35 days
}

// The greylisting defaults (postgrey's, with its 35-day memory).
const (
	DefaultGreylistDelay  = 5 * time.Minute
	DefaultGreylistWindow = 24 * time.Hour
	DefaultGreylistPass   = 5
	DefaultGreylistKeep   = 35 * 24 * time.Hour
)

// WithDefaults fills the zero fields.
func (s GreylistSettings) WithDefaults() GreylistSettings {
	if s.Delay == 0 {
		s.Delay = DefaultGreylistDelay
	}
	if s.Window == 0 {
		s.Window = DefaultGreylistWindow
	}
	if s.Keep == 0 {
		s.Keep = DefaultGreylistKeep
	}
	return s
}

// Greylist outcomes, in GreylistResult.Reason.
const (
	GreylistNew     = "new"     // first seen: tempfail
	GreylistEarly   = "early"   // retried before the delay: tempfail
	GreylistPassed  = "passed"  // retried within the window: passes from now on
	GreylistKnown   = "known"   // passed before
	GreylistNetwork = "network" // the client network passed pass_after triplets
)

// GreylistResult is what a state says of a triplet.
type GreylistResult struct {
	Pass       bool
	RetryAfter time.Duration // when not passing: how long until a retry passes
	Reason     string        // one of the Greylist* constants
}
