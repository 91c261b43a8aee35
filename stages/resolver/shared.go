package resolver

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/miekg/dns"
)

// SharedCache is a cache of answers that several nodes share (Redis, in
// server/state): an answer one MX node fetched is there for the others,
// so a burst of mail from one sender costs the upstream servers one query,
// not one per node. It is a second level under each Client's own cache.
type SharedCache interface {
	// Get returns the value stored under key and how long it has left;
	// nil and no error when there is none.
	Get(ctx context.Context, key string) ([]byte, time.Duration, error)
	// Set stores value under key for ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// sharedState is a SharedCache in use by a Client.
type sharedState struct {
	cache   SharedCache
	timeout time.Duration
	log     *slog.Logger
}

// sharedBackoff is how long a Client leaves the shared cache alone after
// it failed: a Redis that is down or unreachable must not add its timeout
// to every DNS query; the upstream servers answer meanwhile.
const sharedBackoff = 10 * time.Second

// sharedVersion starts every stored answer, so that a node running a
// later encoding never misreads one.
const sharedVersion = 1

// ShareCache makes c look answers up in cache after its own, and store
// there what it fetched. Each exchange with the cache is bounded by
// timeout (default a quarter of the query timeout); after a failure the
// cache is skipped for a while, so a shared cache that is down slows no
// query by more than one timeout.
func (c *Client) ShareCache(cache SharedCache, timeout time.Duration, log *slog.Logger) {
	if timeout <= 0 {
		timeout = c.opts.Timeout / 4
	}
	if log == nil {
		log = slog.Default()
	}
	c.shared.Store(&sharedState{cache: cache, timeout: timeout, log: log})
}

// sharedKey names one question in the shared cache.
func sharedKey(k cacheKey) string {
	return "dns:" + dns.TypeToString[k.qtype] + ":" + k.name
}

// fromShared returns the shared cache's answer to k, nil when it has none
// or cannot be asked.
func (c *Client) fromShared(ctx context.Context, k cacheKey) *Answer {
	s := c.shared.Load()
	if s == nil || time.Now().UnixNano() < c.sharedDown.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	b, ttl, err := s.cache.Get(ctx, sharedKey(k))
	if err != nil {
		c.sharedFailed(s, "get", err)
		return nil
	}
	if b == nil || ttl <= 0 {
		return nil
	}
	a, err := decodeAnswer(b, ttl)
	if err != nil {
		s.log.Warn("dns: shared cache holds an answer this node cannot read; asking upstream", "name", k.name, "err", err)
		return nil
	}
	c.stats.sharedHits.Add(1)
	return a
}

// toShared stores a fetched answer in the shared cache.
func (c *Client) toShared(k cacheKey, a *Answer) {
	s := c.shared.Load()
	if s == nil || a.TTL <= 0 || time.Now().UnixNano() < c.sharedDown.Load() {
		return
	}
	b, err := encodeAnswer(a)
	if err != nil {
		return // a record miekg/dns cannot pack again: keep it local
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	if err := s.cache.Set(ctx, sharedKey(k), b, min(a.TTL, c.opts.MaxTTL)); err != nil {
		c.sharedFailed(s, "set", err)
	}
}

// sharedFailed backs off from the shared cache, logging once per backoff.
func (c *Client) sharedFailed(s *sharedState, op string, err error) {
	c.stats.sharedErrors.Add(1)
	until := time.Now().Add(sharedBackoff).UnixNano()
	if old := c.sharedDown.Load(); old < time.Now().UnixNano() && c.sharedDown.CompareAndSwap(old, until) {
		s.log.Warn("dns: shared cache failed; asking upstream servers only for a while", "op", op, "backoff", sharedBackoff, "err", err)
	}
}

// encodeAnswer is an answer as the shared cache keeps it: the version,
// the status, then the records as a DNS message in wire format.
func encodeAnswer(a *Answer) ([]byte, error) {
	m := &dns.Msg{Answer: a.Records, Compress: true}
	wire, err := m.Pack()
	if err != nil {
		return nil, err
	}
	return append([]byte{sharedVersion, byte(a.Status)}, wire...), nil
}

// decodeAnswer reads what encodeAnswer wrote; ttl is what the shared
// cache says is left.
func decodeAnswer(b []byte, ttl time.Duration) (*Answer, error) {
	if len(b) < 2 || b[0] != sharedVersion {
		return nil, errors.New("unknown encoding")
	}
	status := Status(b[1])
	if status != Success && status != NXDomain && status != NoData {
		return nil, errors.New("unknown status")
	}
	var m dns.Msg
	if err := m.Unpack(b[2:]); err != nil {
		return nil, err
	}
	return &Answer{Status: status, Records: m.Answer, TTL: ttl.Truncate(time.Second)}, nil
}
