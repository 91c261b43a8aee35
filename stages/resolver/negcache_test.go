package resolver_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

// fakeClock is a settable clock for the cache.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestNegativeCaching checks RFC 2308 section 5: NXDOMAIN and NODATA are
// cached for min(SOA TTL, SOA MINIMUM); without an SOA they are not cached.
func TestNegativeCaching(t *testing.T) {
	tests := []struct {
		name, qname string
		qtype       uint16
		status      resolver.Status
		ttl         time.Duration // 0: not cached
	}{
		{"nxdomain uses SOA minimum", "nope.example.org", dns.TypeA, resolver.NXDomain, 60 * time.Second},
		{"nodata uses SOA minimum", "example.org", dns.TypeMX, resolver.NoData, 60 * time.Second},
		{"SOA TTL below minimum wins", "nope.short.test", dns.TypeA, resolver.NXDomain, 10 * time.Second},
		{"no SOA, not cached", "nosoa.test", dns.TypeMX, resolver.NoData, 0},
	}
	zone := testZone + "short.test. 10 IN SOA ns.short.test. h.short.test. 1 1 1 1 600\n"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := dnstest.StartServer(t, loadZone(t, zone))
			c := newClient(t, resolver.ClientOptions{}, srv.Addr)
			clock := &fakeClock{now: time.Unix(1e9, 0)}
			resolver.SetClock(c, clock.Now)
			ctx := context.Background()
			ask := func() *resolver.Answer {
				t.Helper()
				a, err := c.Query(ctx, tc.qname, tc.qtype)
				if err != nil {
					t.Fatal(err)
				}
				if a.Status != tc.status {
					t.Fatalf("status %v, want %v", a.Status, tc.status)
				}
				return a
			}
			if a := ask(); a.TTL != tc.ttl {
				t.Fatalf("negative TTL %v, want %v", a.TTL, tc.ttl)
			}
			if tc.ttl == 0 {
				ask()
				if srv.Queries() != 2 {
					t.Fatalf("negative answer without SOA was cached")
				}
				return
			}
			clock.Advance(tc.ttl - time.Second)
			ask()
			if srv.Queries() != 1 {
				t.Fatalf("%d queries before the negative TTL ran out, want 1", srv.Queries())
			}
			clock.Advance(2 * time.Second)
			ask()
			if srv.Queries() != 2 {
				t.Fatalf("%d queries after the negative TTL ran out, want 2", srv.Queries())
			}
		})
	}
}

// TestPositiveTTLExpires checks that an answer is asked again once its TTL
// (the least of the CNAME and the target) has run out.
func TestPositiveTTLExpires(t *testing.T) {
	srv := dnstest.StartServer(t, loadZone(t, testZone))
	c := newClient(t, resolver.ClientOptions{}, srv.Addr)
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	resolver.SetClock(c, clock.Now)
	a, err := c.Query(context.Background(), "www.example.org", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if a.TTL != 120*time.Second {
		t.Fatalf("TTL %v, want the CNAME's 120s", a.TTL)
	}
	clock.Advance(119 * time.Second)
	_, _ = c.Query(context.Background(), "www.example.org", dns.TypeA)
	clock.Advance(2 * time.Second)
	_, _ = c.Query(context.Background(), "www.example.org", dns.TypeA)
	if srv.Queries() != 2 {
		t.Fatalf("queries %d, want 2", srv.Queries())
	}
}

// TestCacheBounded checks that the cache never holds more than CacheSize.
func TestCacheBounded(t *testing.T) {
	srv := dnstest.StartServer(t, loadZone(t, testZone))
	c := newClient(t, resolver.ClientOptions{CacheSize: 5}, srv.Addr)
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		if _, err := c.Query(context.Background(), n+".example.org", dns.TypeA); err != nil {
			t.Fatal(err)
		}
		if c.CacheLen() > 5 {
			t.Fatalf("cache holds %d entries, limit 5", c.CacheLen())
		}
	}
	if c.CacheLen() != 5 {
		t.Fatalf("cache holds %d, want 5", c.CacheLen())
	}
}
