package dnsbl_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
	"github.com/sluicemail/sluice/stages/dnsbl"
)

// FuzzSettings feeds arbitrary settings blocks to both stage factories:
// bad YAML, codes or zones must give an error, never a panic, and a stage
// that builds has its kind's phase whatever the settings say.
func FuzzSettings(f *testing.F) {
	for _, s := range []string{
		`zones: [{zone: zen.example, codes: {127.0.0.2: sbl, 127.0.0.4: {tag: xbl, score: 2}}, score: 3}]`,
		`zones: [{zone: list.dnswl.example, allow: true, score: -2}, {zone: dbl.example, type: domain}]`,
		`{query_local: true, zones: [{zone: dbl.example, type: ip}]}`,
		`zones: [{zone: bitmask.example, bitmask: {2: spam, 4: phish}, refused: [127.0.0.1]}]`,
		`max_domains: 3`,
		`zones: [{zone: "", codes: {x: y}}]`,
	} {
		f.Add(s)
	}
	phase := map[string]engine.Phase{dnsbl.Namespace: engine.PhaseConnect, dnsbl.URINamespace: engine.PhaseData}
	f.Fuzz(func(t *testing.T, raw string) {
		for ns, want := range phase {
			st, err := stages.New(ns, stages.Settings{Raw: []byte(raw)})
			if err != nil {
				continue
			}
			if st.Phase() != want {
				t.Fatalf("%s: phase %v, want %v", ns, st.Phase(), want)
			}
			for _, z := range st.(*dnsbl.Stage).Zones() {
				if z == "" || strings.HasSuffix(z, ".") {
					t.Fatalf("%s: zone %q accepted", ns, z)
				}
			}
		}
	})
}

// FuzzQueryName checks name construction for any address and domain.
func FuzzQueryName(f *testing.F) {
	f.Add([]byte{192, 0, 2, 99}, "example.org")
	f.Add([]byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "TEST")
	f.Fuzz(func(t *testing.T, ip []byte, domain string) {
		if a, ok := netip.AddrFromSlice(ip); ok {
			name := dnsbl.IPQueryName(a, "zen.example")
			labels := strings.Count(name, ".")
			if (a.Is4() && labels != 6) || (a.Is6() && labels != 34) {
				t.Fatalf("%s -> %s", a, name)
			}
		}
		if name, ok := dnsbl.DomainQueryName(domain, "dbl.example"); ok {
			if len(name) > 254 || !strings.HasSuffix(name, ".dbl.example.") {
				t.Fatalf("%q -> %q", domain, name)
			}
		}
	})
}
