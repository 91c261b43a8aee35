package resolver_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/miekg/dns"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

// BenchmarkCacheHit is the path of every repeated query: a cached answer.
func BenchmarkCacheHit(b *testing.B) {
	c := newClient(b, resolver.ClientOptions{}, dnstest.Start(b, loadZone(b, testZone)))
	ctx := context.Background()
	if _, err := c.Query(ctx, "example.org", dns.TypeA); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Query(ctx, "example.org", dns.TypeA); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCacheHitParallel is the same from every core at once.
func BenchmarkCacheHitParallel(b *testing.B) {
	c := newClient(b, resolver.ClientOptions{}, dnstest.Start(b, loadZone(b, testZone)))
	ctx := context.Background()
	for i := range 64 {
		_, _ = c.Query(ctx, fmt.Sprintf("n%d.example.org", i), dns.TypeA)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := c.Query(ctx, fmt.Sprintf("n%d.example.org", i%64), dns.TypeA); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkMissLoopback is an uncached query to the in-process server: the
// cost of one UDP exchange on loopback.
func BenchmarkMissLoopback(b *testing.B) {
	c := newClient(b, resolver.ClientOptions{CacheSize: -1}, dnstest.Start(b, loadZone(b, testZone)))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Query(ctx, "example.org", dns.TypeA); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkZone is a query answered by the zone resolver (dry runs).
func BenchmarkZone(b *testing.B) {
	z := loadZone(b, testZone)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := z.Query(ctx, "www.example.org", dns.TypeA); err != nil {
			b.Fatal(err)
		}
	}
}
