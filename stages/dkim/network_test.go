package dkim

import (
	"context"
	"testing"
	"time"

	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

// TestVerifyOverNetwork verifies the conformance messages through the real
// resolver client talking to an in-process DNS server on loopback serving
// keys.zone: long key records take the UDP/TCP path a real lookup takes.
func TestVerifyOverNetwork(t *testing.T) {
	zone := keysZone(t)
	zone.Fail("brisbane._domainkey.example.com", resolver.ErrServFail)
	addr := dnstest.Start(t, zone)
	c, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{addr}, Timeout: 2 * time.Second, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"realworld/006-github.eml":      ResultPass,
		"dkimpy/test2.eml":              ResultPass, // 2048-bit key split over three strings
		"rfc8463-a3-signed.eml":         ResultPass,
		"dkimpy/exim-ed25519.eml":       ResultPass,
		"dkimpy/message.eml":            ResultPermError, // no key published
		"dkimpy/rfc6376-signed-rsa.eml": ResultPass,
	} {
		f := Verify(context.Background(), c, []byte(readFile(t, "testdata/"+file)), 0)
		if f.Result != want {
			t.Errorf("%s: %s, want %s (%+v)", file, f.Result, want, f.Results)
		}
	}
	// SERVFAIL for the key of the RFC 6376 example: temperror.
	raw := []byte(readFile(t, "testdata/rfc6376-a2-signed.eml")[2:])
	if f := Verify(context.Background(), c, raw, 0); f.Result != ResultTempError {
		t.Errorf("servfail: %+v", f)
	}
}
