package arc

import (
	"context"
	"os"
	"testing"

	"github.com/sluicemail/sluice/stages/resolver"
)

// BenchmarkVerify validates Gmail's one-set chain (RSA-2048 seal and
// message signature; keys from a zone, no network).
func BenchmarkVerify(b *testing.B) {
	z, err := resolver.LoadZoneFile("testdata/keys.zone")
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := os.ReadFile("testdata/stalwart-001-gmail-arc-chain.eml")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if res := Verify(context.Background(), z, raw); res.Chain != ChainPass {
			b.Fatal(res.Reason)
		}
	}
}

// BenchmarkVerifyNone is the cost for the usual message, with no chain.
func BenchmarkVerifyNone(b *testing.B) {
	raw := []byte(interopMsg)
	for b.Loop() {
		Verify(context.Background(), resolver.NewZone(), raw)
	}
}

// BenchmarkSeal adds a set to a message that already has one (it
// validates that chain first), with an RSA-2048 key.
func BenchmarkSeal(b *testing.B) {
	z, _ := resolver.LoadZoneFile("testdata/keys.zone")
	raw, _ := os.ReadFile("testdata/stalwart-001-gmail-arc-chain.eml")
	s := &Sealer{Domain: "fwd.example", Selector: "arc", Key: testKey(b, "fwd.example"), AuthServID: "mx.fwd.example"}
	for b.Loop() {
		if _, err := s.Seal(context.Background(), z, raw, ""); err != nil {
			b.Fatal(err)
		}
	}
}
