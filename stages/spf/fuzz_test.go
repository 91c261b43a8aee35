package spf

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/stages/resolver"
)

// FuzzCheckRecord feeds arbitrary text to the RFC 7208 section 12 syntax
// check: it must never panic, and what it accepts must be an SPF record.
func FuzzCheckRecord(f *testing.F) {
	for _, s := range []string{
		"v=spf1 -all",
		"v=spf1 a:%{d}.example.com/24//64 mx ptr:example.org include:_spf.example.net ~all",
		"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{ir}.%{v}._spf.%{d} redirect=_spf.example.com",
		"v=spf1 exp=%{r}.example.com",
		"v=spf1 a:foo:bar/baz.example.com",
		"v=spf1 foo=%{l1r+-}.bar",
		"v=spf1 ip4:1.2.3.4/032",
		"V=SPF1 ALL",
		"v=spf1 \x80",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rec string) {
		if CheckRecord(rec) == nil && !isSPFRecord(rec) {
			t.Fatalf("accepted a non-SPF record %q", rec)
		}
	})
}

// FuzzExpand feeds arbitrary macro strings to the expansion of exp= text
// and domain-specs: errors or text, never a panic; text without '%' is
// left as it is.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"%{i} is %{ir}.%{v}.arpa", "%{L}%%%_%-", "%{d2r+-}", "%{x}", "%{", "%", "plain text", "%{c} %{t} %{r} %{p}"} {
		f.Add(s, true)
	}
	env := &macroEnv{ctx: context.Background(), dns: resolver.NewZone(), sender: "a.b@example.org", helo: "h.example", ip: netip.MustParseAddr("2001:db8::1"), now: time.Unix(0, 0)}
	f.Fuzz(func(t *testing.T, s string, exp bool) {
		out, err := env.expand(s, "example.org", exp)
		if err == nil && !strings.Contains(s, "%") && exp && out != s {
			t.Fatalf("%q -> %q", s, out)
		}
	})
}
