package spf_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
	"github.com/sluicemail/sluice/stages/spf"
)

// BenchmarkStageWarm is one SPF check (include + mx, 4 queries) through the
// network client with a warm cache.
func BenchmarkStageWarm(b *testing.B) {
	z, err := resolver.ParseZone(fixture + `
big.example. 300 IN TXT "v=spf1 include:pass.example mx:mx.example -all"
`)
	if err != nil {
		b.Fatal(err)
	}
	c, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{dnstest.Start(b, z)}})
	if err != nil {
		b.Fatal(err)
	}
	st := spf.New(spf.Settings{})
	env := engine.Envelope{IP: netip.MustParseAddr("192.0.2.25"), HELO: "x", MailFrom: "a@big.example"}
	run := func() {
		in := &engine.Input{Msg: engine.NewMessage(env, nil), Facts: &engine.Facts{}, DNS: c}
		if err := st.Run(context.Background(), in); err != nil || in.Facts.SPF.Result != "pass" {
			b.Fatalf("%v %+v", err, in.Facts.SPF)
		}
	}
	run()
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
}
