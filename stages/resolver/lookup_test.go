package resolver_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

const lookupZone = testZone + `
1.2.0.192.in-addr.arpa. 300 IN PTR example.org.
1.2.0.192.in-addr.arpa. 300 IN PTR other.example.org.
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR example.org.
v4only.example.org. 300 IN A 192.0.2.7
mx2.example.org. 300 IN MX 20 b.example.org.
mx2.example.org. 300 IN MX 5 a.example.org.
`

// resolvers returns the zone resolver and a network client over the same
// data, so every helper is tested both ways.
func resolvers(t *testing.T, text string, fail map[string]error) map[string]resolver.Resolver {
	t.Helper()
	z := loadZone(t, text)
	for n, err := range fail {
		z.Fail(n, err)
	}
	c := newClient(t, resolver.ClientOptions{Retries: -1, Timeout: 300e6}, dnstest.Start(t, z))
	return map[string]resolver.Resolver{"zone": z, "client": c}
}

func TestLookupHelpers(t *testing.T) {
	fail := map[string]error{"down.example.org": resolver.ErrServFail}
	for kind, r := range resolvers(t, lookupZone, fail) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			txt, st, err := resolver.LookupTXT(ctx, r, "example.org")
			if err != nil || st != resolver.Success || fmt.Sprint(txt) != "[v=spf1 -all]" {
				t.Errorf("TXT: %q %v %v (strings must be joined with nothing between)", txt, st, err)
			}
			ips, st, err := resolver.LookupIP(ctx, r, "www.example.org")
			if err != nil || st != resolver.Success || fmt.Sprint(ips) != "[192.0.2.1 2001:db8::1]" {
				t.Errorf("IP: %v %v %v", ips, st, err)
			}
			ips, st, err = resolver.LookupIP(ctx, r, "v4only.example.org")
			if err != nil || st != resolver.Success || len(ips) != 1 {
				t.Errorf("IP v4only: %v %v %v", ips, st, err)
			}
			if _, st, err = resolver.LookupIP(ctx, r, "nx.example.org"); err != nil || st != resolver.NXDomain {
				t.Errorf("IP nx: %v %v", st, err)
			}
			if _, _, err = resolver.LookupIP(ctx, r, "down.example.org"); !errors.Is(err, resolver.ErrServFail) {
				t.Errorf("IP down: %v", err)
			}
			names, st, err := resolver.LookupPTR(ctx, r, netip.MustParseAddr("::ffff:192.0.2.1"))
			if err != nil || st != resolver.Success || len(names) != 2 {
				t.Errorf("PTR v4-mapped: %v %v %v", names, st, err)
			}
			names, _, err = resolver.LookupPTR(ctx, r, netip.MustParseAddr("2001:db8::1"))
			if err != nil || fmt.Sprint(names) != "[example.org.]" {
				t.Errorf("PTR v6: %v %v", names, err)
			}
			mx, st, err := resolver.LookupMX(ctx, r, "mx2.example.org")
			if err != nil || st != resolver.Success || fmt.Sprint(mx) != "[{a.example.org. 5} {b.example.org. 20}]" || resolver.IsNullMX(mx) {
				t.Errorf("MX: %v %v %v", mx, st, err)
			}
			mx, _, err = resolver.LookupMX(ctx, r, "nomx.example.org")
			if err != nil || !resolver.IsNullMX(mx) {
				t.Errorf("null MX not recognised: %v %v", mx, err)
			}
			if _, st, err = resolver.LookupMX(ctx, r, "example.org"); err != nil || st != resolver.NoData {
				t.Errorf("MX nodata: %v %v", st, err)
			}
		})
	}
}

func TestReverseName(t *testing.T) {
	tests := map[string]string{
		"192.0.2.99":        "99.2.0.192.in-addr.arpa.",
		"::ffff:192.0.2.99": "99.2.0.192.in-addr.arpa.",
		"2001:db8::1":       "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
		"10.0.0.255":        "255.0.0.10.in-addr.arpa.",
	}
	for ip, want := range tests {
		if got := resolver.ReverseName(netip.MustParseAddr(ip)); got != want {
			t.Errorf("ReverseName(%s) = %s, want %s", ip, got, want)
		}
	}
}

func TestZoneNegativeTTLAndCNAME(t *testing.T) {
	z := loadZone(t, testZone)
	a, err := z.Query(context.Background(), "alias.example.org", 1)
	if err != nil || a.Status != resolver.NXDomain || a.TTL.Seconds() != 60 {
		t.Fatalf("CNAME to a missing name: %+v %v", a, err)
	}
	a, err = z.Query(context.Background(), "nosoa.test", 15)
	if err != nil || a.Status != resolver.NoData || a.TTL.Seconds() != 60 {
		t.Fatalf("no SOA: %+v %v", a, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := z.Query(ctx, "example.org", 1); !errors.Is(err, resolver.ErrTimeout) {
		t.Fatalf("cancelled context: %v", err)
	}
}

// TestInvalidNames: a name that cannot be encoded cannot exist, so both
// resolvers say NXDomain without asking; names with spaces and other
// special bytes survive the wire.
func TestInvalidNames(t *testing.T) {
	zoneText := lookupZone + "a\\ b.example.org. 300 IN A 192.0.2.44\n"
	for kind, r := range resolvers(t, zoneText, nil) {
		for _, name := range []string{"a..example.org", strings.Repeat("x", 64) + ".example.org", strings.Repeat("abcdefghi.", 26) + "org"} {
			a, err := r.Query(context.Background(), name, 1)
			if err != nil || a.Status != resolver.NXDomain {
				t.Errorf("%s: %.20s...: %+v %v", kind, name, a, err)
			}
		}
		ips, st, err := resolver.LookupIP(context.Background(), r, "A B.example.org")
		if err != nil || st != resolver.Success || len(ips) != 1 {
			t.Errorf("%s: name with a space: %v %v %v", kind, ips, st, err)
		}
	}
}

// TestWildcard checks RFC 4592 synthesis: a wildcard covers names that do
// not exist, at any depth below the closest encloser, and never a name
// that exists.
func TestWildcard(t *testing.T) {
	text := testZone + `
*.wild.example.      300 IN A   127.0.0.2
exists.wild.example. 300 IN TXT "here"
`
	for kind, r := range resolvers(t, text, nil) {
		for name, want := range map[string]resolver.Status{
			"a.wild.example":        resolver.Success,
			"x.y.wild.example":      resolver.Success,
			"exists.wild.example":   resolver.NoData,
			"wild.example":          resolver.NoData,
			"a.exists.wild.example": resolver.NXDomain,
			"a.other.example":       resolver.NXDomain,
		} {
			a, err := r.Query(context.Background(), name, 1)
			if err != nil || a.Status != want {
				t.Errorf("%s %s: %+v %v, want %v", kind, name, a, err, want)
				continue
			}
			if want == resolver.Success && a.Records[0].Header().Name != name+"." {
				t.Errorf("%s %s: owner %s", kind, name, a.Records[0].Header().Name)
			}
		}
	}
}
