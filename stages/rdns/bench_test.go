package rdns_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/rdns"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

// BenchmarkStageWarm is one FCrDNS check (PTR, then A and AAAA of two
// names) through the network client with a warm cache.
func BenchmarkStageWarm(b *testing.B) {
	// SOAs make the negative answers (no AAAA) cacheable, as real zones do.
	z, err := resolver.ParseZone(fixture() + `
example.         300 IN SOA ns.example. h.example. 1 1 1 1 300
in-addr.arpa.    300 IN SOA ns.example. h.example. 1 1 1 1 300
`)
	if err != nil {
		b.Fatal(err)
	}
	c, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{dnstest.Start(b, z)}})
	if err != nil {
		b.Fatal(err)
	}
	st, _ := rdns.New(rdns.Settings{})
	env := engine.Envelope{IP: netip.MustParseAddr("192.0.2.14")}
	run := func() {
		in := &engine.Input{Msg: engine.NewMessage(env, nil), Facts: &engine.Facts{}, DNS: c}
		if err := st.Run(context.Background(), in); err != nil || !in.Facts.Rdns.FCrDNS {
			b.Fatalf("%v %+v", err, in.Facts.Rdns)
		}
	}
	run()
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
}
