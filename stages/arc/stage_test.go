package arc

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
	_ "github.com/sluicemail/sluice/stages/dmarc" // arc runs after dmarc
	"github.com/sluicemail/sluice/stages/resolver"
	_ "github.com/sluicemail/sluice/stages/spf"
)

// Real chains (testdata/README.md): Gmail's through a mailing list, and
// two hops with an RSA and an Ed25519 DKIM signature beside them.
func TestRealWorldChains(t *testing.T) {
	z, err := resolver.LoadZoneFile("testdata/keys.zone")
	if err != nil {
		t.Fatal(err)
	}
	for file, sealers := range map[string]string{
		"testdata/stalwart-001-gmail-arc-chain.eml": "google.com",
		"testdata/stalwart-002-two-hop-arc.eml":     "scamorza.org,manchego.org", // i=1 Ed25519
	} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		res := Verify(context.Background(), z, raw)
		if res.Chain != ChainPass || strings.Join(res.Sealers, ",") != sealers {
			t.Errorf("%s: %+v", file, res)
		}
		if res := Verify(context.Background(), resolver.Offline{}, raw); res.Chain != ChainTempError {
			t.Errorf("%s without DNS: %s, want temperror", file, res.Chain)
		}
	}
}

// The stage through a real pipeline: the facts rules read, and trust from
// the rule file's settings and from the server config's block.
func TestStageFacts(t *testing.T) {
	z, _ := resolver.LoadZoneFile("testdata/keys.zone")
	raw, _ := os.ReadFile("testdata/stalwart-001-gmail-arc-chain.eml")
	for _, tc := range []struct {
		rule, server string
		trusted      bool
	}{
		{"", "", false},
		{"trusted: [google.com]", "", true},
		{"", "trusted: [example.net, google.com]", true},
		{"trusted: [mail.google.com]", "", false}, // a subdomain does not cover its parent
		{"", "trusted: [com]", true},              // a parent covers its subdomains
	} {
		st, err := stages.New("arc", stages.Settings{Raw: []byte(tc.rule), Config: []byte(tc.server)})
		if err != nil {
			t.Fatal(err)
		}
		p := &engine.Pipeline{Name: "inbound", Stages: map[string]engine.Stage{"arc": st}, DNS: z}
		for _, ns := range []string{"spf", "dkim", "dmarc"} { // what arc runs after
			if p.Stages[ns], err = stages.New(ns, stages.Settings{}); err != nil {
				t.Fatal(err)
			}
		}
		tx := p.Begin(engine.NewMessage(engine.Envelope{}, raw))
		tx.Ensure(context.Background(), "arc")
		if got := strings.Join(tx.Evaluate(context.Background(), engine.PhaseData).Stages, ","); got != "spf,dkim,dmarc,arc" && got != "dkim,spf,dmarc,arc" {
			t.Errorf("stages ran in the order %s", got)
		}
		f := tx.Facts().ARC
		if f.Chain != "pass" || f.Trusted != tc.trusted || f.Instances != 1 || !strings.Contains(f.NewestResults, "dkim=pass") || f.OldestResults != f.NewestResults {
			t.Errorf("rule %q, server %q: %+v", tc.rule, tc.server, f)
		}
	}
	if _, err := stages.New("arc", stages.Settings{Raw: []byte("trusted: [\"bad domain\"]")}); err == nil {
		t.Error("an invalid trusted domain was accepted")
	}
	if _, err := stages.New("arc", stages.Settings{Raw: []byte("trust: [x.example]")}); err == nil {
		t.Error("a misspelt setting was accepted")
	}
}

// FuzzVerify: no header block makes validation panic or pass without a
// valid signature (there is no key to pass with).
func FuzzVerify(f *testing.F) {
	for _, file := range []string{"testdata/stalwart-001-gmail-arc-chain.eml", "testdata/stalwart-002-two-hop-arc.eml"} {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("ARC-Seal: i=1; cv=none\r\nARC-Message-Signature: i=1;;\r\nARC-Authentication-Results: i=1\r\n\r\n"))
	f.Add([]byte("ARC-Authentication-Results: i=99999999999999999999; x\r\n\r\nbody"))
	z := resolver.NewZone()
	f.Fuzz(func(t *testing.T, raw []byte) {
		res := Verify(context.Background(), z, raw)
		if res.Chain == ChainPass {
			t.Fatalf("a chain passed with no keys published: %q", raw)
		}
	})
}
