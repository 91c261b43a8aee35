package dmarc

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/resolver"
)

// BenchmarkStage runs the dmarc stage with the spf and dkim facts already
// known and a warm resolver (the zone answers from memory): a subdomain
// author, so discovery falls back to the organizational record.
func BenchmarkStage(b *testing.B) {
	zone, err := resolver.ParseZone("_dmarc.example.org. IN TXT \"v=DMARC1; p=reject; sp=quarantine; pct=50; rua=mailto:d@example.org\"\n")
	if err != nil {
		b.Fatal(err)
	}
	raw := []byte(fmt.Sprintf("From: a@news.example.org\r\nMessage-ID: <%d@x>\r\n\r\nhi\r\n", 1))
	dk := dkimFacts(engine.DKIMResult{Domain: "example.org", Result: "pass"})
	for b.Loop() {
		in := &engine.Input{Msg: engine.NewMessage(engine.Envelope{}, raw), DNS: zone,
			Facts: &engine.Facts{SPF: engine.SPFFacts{Result: "pass", Domain: "bounce.example.org"}, DKIM: dk}}
		if err := (Stage{}).Run(context.Background(), in); err != nil || in.Facts.DMARC.Result != ResultPass {
			b.Fatal(err, in.Facts.DMARC)
		}
	}
}

// BenchmarkParse parses a full record.
func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse("v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=50; fo=1:d; rua=mailto:a@example.com!10m; ruf=mailto:f@example.com"); err != nil {
			b.Fatal(err)
		}
	}
}
