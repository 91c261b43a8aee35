package resolver

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// ClientOptions configure a network Client. The zero value of every field
// means its default.
type ClientOptions struct {
	// Servers are the upstream recursive resolvers, as "host" or
	// "host:port" ("[v6]:port" for IPv6); the port defaults to 53.
	// Default: the nameserver lines of /etc/resolv.conf.
	Servers []string
	// Timeout bounds one attempt: a UDP exchange and, after a truncated
	// answer, its TCP retry. Default 2s.
	Timeout time.Duration
	// Retries is how many more attempts follow a failed one (timeout,
	// SERVFAIL, REFUSED, network error), each to the next server in turn.
	// Default 2; a negative value means no retry.
	Retries int
	// MaxInFlight bounds the queries sent upstream and not yet answered;
	// further queries wait for a slot. Default 64.
	MaxInFlight int
	// CacheSize bounds the number of cached answers. Default 10000; a
	// negative value disables the cache.
	CacheSize int
	// MaxTTL caps how long an answer is cached, whatever its TTL.
	// Default 1h (RFC 2308 section 5 suggests at most 3h for negative
	// answers; a mail filter gains little beyond an hour).
	MaxTTL time.Duration
	// UDPSize is the EDNS0 payload size advertised to servers. Default
	// 1232 (the DNS flag day 2020 value, safe against fragmentation).
	UDPSize uint16
	// Observe, if set, is told of every attempt with a server (metrics,
	// the health of the resolver). It must be quick and safe for
	// concurrent use.
	Observe func(Attempt)
}

// The defaults of ClientOptions.
const (
	DefaultTimeout     = 2 * time.Second
	DefaultRetries     = 2
	DefaultMaxInFlight = 64
	DefaultCacheSize   = 10000
	DefaultMaxTTL      = time.Hour
	DefaultUDPSize     = 1232
)

// Client is the network Resolver: it asks upstream recursive servers over
// UDP, retries over TCP when an answer is truncated, caches definite answers
// (negative ones as RFC 2308 says), bounds the queries in flight and sends
// concurrent identical queries once. It is safe for concurrent use.
type Client struct {
	opts    ClientOptions
	cache   *cache
	sem     chan struct{}
	udp     *dns.Client
	tcp     *dns.Client
	next    atomic.Uint32 // rotates the first server of each query
	mu      sync.Mutex
	flights map[cacheKey]*flight
	stats   struct{ queries, hits, shared, upstream, failures, sharedHits, sharedErrors atomic.Int64 }
	// shared is the cache several nodes share (shared.go), nil for none;
	// sharedDown is until when (Unix ns) it is left alone after a failure.
	shared     atomic.Pointer[sharedState]
	sharedDown atomic.Int64
}

// Stats counts what a Client did, for metrics.
type Stats struct {
	Queries  int64 // calls to Query
	Hits     int64 // answered from the cache
	Shared   int64 // joined a query already in flight
	Upstream int64 // exchanges with a server (UDP or UDP then TCP)
	Failures int64 // queries that ended in a temporary error
	Cached   int   // answers in the cache now
	// SharedHits are answers found in the cache shared with other nodes
	// (ShareCache); SharedErrors the failed exchanges with it.
	SharedHits, SharedErrors int64
}

// flight is one upstream query that concurrent identical queries share.
type flight struct {
	done   chan struct{}
	answer *Answer
	err    error
}

// NewClient returns a network resolver. Without Servers it reads
// /etc/resolv.conf.
func NewClient(opts ClientOptions) (*Client, error) {
	if len(opts.Servers) == 0 {
		servers, err := ServersFromResolvConf("/etc/resolv.conf")
		if err != nil {
			return nil, err
		}
		opts.Servers = servers
	}
	opts = opts.withDefaults()
	for i, s := range opts.Servers {
		opts.Servers[i] = withPort(s)
	}
	c := &Client{
		opts:    opts,
		sem:     make(chan struct{}, opts.MaxInFlight),
		udp:     &dns.Client{Net: "udp", Timeout: opts.Timeout, UDPSize: opts.UDPSize},
		tcp:     &dns.Client{Net: "tcp", Timeout: opts.Timeout},
		flights: map[cacheKey]*flight{},
	}
	if opts.CacheSize > 0 {
		c.cache = newCache(opts.CacheSize, opts.MaxTTL)
	}
	return c, nil
}

// FromResolvConf returns a Client with default options asking the servers
// of a resolv.conf(5) file.
func FromResolvConf(path string) (*Client, error) {
	servers, err := ServersFromResolvConf(path)
	if err != nil {
		return nil, err
	}
	return NewClient(ClientOptions{Servers: servers})
}

// ServersFromResolvConf returns the nameservers of a resolv.conf(5) file as
// "host:port".
func ServersFromResolvConf(path string) ([]string, error) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("resolver: %w", err)
	}
	if len(cc.Servers) == 0 {
		return nil, fmt.Errorf("resolver: no nameserver in %s", path)
	}
	out := make([]string, len(cc.Servers))
	for i, s := range cc.Servers {
		out[i] = net.JoinHostPort(s, cc.Port)
	}
	return out, nil
}

func (o ClientOptions) withDefaults() ClientOptions {
	o.Servers = append([]string(nil), o.Servers...)
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	switch {
	case o.Retries == 0:
		o.Retries = DefaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.MaxTTL <= 0 {
		o.MaxTTL = DefaultMaxTTL
	}
	if o.UDPSize == 0 {
		o.UDPSize = DefaultUDPSize
	}
	return o
}

// withPort adds port 53 to a server given without one.
func withPort(s string) string {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s
	}
	return net.JoinHostPort(strings.Trim(s, "[]"), "53")
}

// Options returns the options in effect, defaults filled in.
func (c *Client) Options() ClientOptions { return c.opts }

// Query implements Resolver. The answer may be shared with other callers
// and must not be modified.
func (c *Client) Query(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	c.stats.queries.Add(1)
	k, valid := keyOf(name, qtype)
	if !valid {
		return &Answer{Status: NXDomain}, nil
	}
	if a, ok := c.cache.get(k); ok {
		c.stats.hits.Add(1)
		return a, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrTimeout, err)
	}
	f := c.join(ctx, k)
	select {
	case <-f.done:
		return f.answer, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w: %v", name, ErrTimeout, ctx.Err())
	}
}

// join returns the flight for k, starting it if none is under way. The
// flight runs detached from the first caller's cancellation (but keeps its
// values), so that one impatient caller does not fail the others; it is
// bounded by the time its attempts may take.
func (c *Client) join(ctx context.Context, k cacheKey) *flight {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.flights[k]; f != nil {
		c.stats.shared.Add(1)
		return f
	}
	f := &flight{done: make(chan struct{})}
	c.flights[k] = f
	budget := c.opts.Timeout * time.Duration(c.opts.Retries+2)
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	go func() {
		defer cancel()
		f.answer = c.fromShared(fctx, k)
		fetched := f.answer == nil
		if fetched {
			f.answer, f.err = c.resolve(fctx, k)
		}
		if f.err == nil {
			c.cache.put(k, f.answer)
		} else {
			c.stats.failures.Add(1)
		}
		c.mu.Lock()
		delete(c.flights, k)
		c.mu.Unlock()
		close(f.done)
		if fetched && f.err == nil {
			c.toShared(k, f.answer) // after the waiters have their answer
		}
	}()
	return f
}

// CacheLen reports how many answers are cached, for metrics.
func (c *Client) CacheLen() int { return c.cache.len() }

// Stats returns the counters since the Client was made.
func (c *Client) Stats() Stats {
	return Stats{
		Queries: c.stats.queries.Load(), Hits: c.stats.hits.Load(), Shared: c.stats.shared.Load(),
		Upstream: c.stats.upstream.Load(), Failures: c.stats.failures.Load(), Cached: c.cache.len(),
		SharedHits: c.stats.sharedHits.Load(), SharedErrors: c.stats.sharedErrors.Load(),
	}
}
