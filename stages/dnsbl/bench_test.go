package dnsbl_test

import (
	"net/netip"
	"testing"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

// BenchmarkStageWarm is one message through both stages, as a server with
// both configured runs them: three IP lists (dnsbl), then a domain list
// (uribl: sender, From, 3 URL domains), 8 queries with a warm cache.
func BenchmarkStageWarm(b *testing.B) {
	// SOAs make NXDOMAIN cacheable (RFC 2308), as on real lists.
	z, err := resolver.ParseZone(fixture + `
wl.example.   300 IN SOA ns.example. h.example. 1 1 1 1 300
bits.example. 300 IN SOA ns.example. h.example. 1 1 1 1 300
dbl.example.  300 IN SOA ns.example. h.example. 1 1 1 1 300
`)
	if err != nil {
		b.Fatal(err)
	}
	c, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{dnstest.Start(b, z)}})
	if err != nil {
		b.Fatal(err)
	}
	ip := newStage(b, `zones: [{zone: zen.example, codes: {127.0.0.2: sbl, 127.0.0.4: xbl}, score: 3}, {zone: wl.example, allow: true, score: -2}, {zone: bits.example, bitmask: {2: spam, 4: phish}}]`)
	uri := newURIStage(b, `zones: [{zone: dbl.example, score: 2}]`)
	env := engine.Envelope{IP: netip.MustParseAddr("192.0.2.99"), MailFrom: "bounce@mail.spam-sender.example"}
	raw := []byte(message)
	run(b, ip, c, env, raw)
	run(b, uri, c, env, raw)
	b.ReportAllocs()
	for b.Loop() {
		if f := run(b, ip, c, env, raw); !f.Listed {
			b.Fatal("not listed")
		}
		if f := run(b, uri, c, env, raw); !f.Listed {
			b.Fatal("no domain listed")
		}
	}
}

// BenchmarkStageWarmIP is the connect-time case: three IP lists, no
// message, warm cache.
func BenchmarkStageWarmIP(b *testing.B) {
	z, err := resolver.ParseZone(fixture + "wl.example. 300 IN SOA ns.example. h.example. 1 1 1 1 300\n")
	if err != nil {
		b.Fatal(err)
	}
	c, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{dnstest.Start(b, z)}})
	if err != nil {
		b.Fatal(err)
	}
	st := newStage(b, `zones: [{zone: zen.example, codes: {127.0.0.2: sbl, 127.0.0.4: xbl}, score: 3}, {zone: wl.example, allow: true, score: -2}, {zone: bits.example, bitmask: {2: spam, 4: phish}}]`)
	env := engine.Envelope{IP: netip.MustParseAddr("192.0.2.99")}
	run(b, st, c, env, nil)
	b.ReportAllocs()
	for b.Loop() {
		if f := run(b, st, c, env, nil); !f.Listed {
			b.Fatal("not listed")
		}
	}
}
