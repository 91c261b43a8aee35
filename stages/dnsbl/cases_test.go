package dnsbl_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/miekg/dns"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/dnsbl"
	"github.com/sluicemail/sluice/stages/resolver"
)

// testdata/dnsbl-cases.yml (own data, see its header): query names, the
// RFC 5782 test entries, how answers read, and the Spamhaus ZEN codes.
type casesFile struct {
	QueryNames struct {
		IPv4   []struct{ IP, Name string } `yaml:"ipv4"`
		IPv6   []struct{ IP, Name string } `yaml:"ipv6"`
		Domain []struct{ Domain, Name string }
	} `yaml:"query_names"`
	TestEntries map[string]any            `yaml:"test_entries"`
	Answers     []struct{ Answer string } `yaml:"answers"`
	ZEN         map[string]string         `yaml:"spamhaus_zen_return_codes"`
}

const caseZone = "dnsbl.example.net"

func loadCases(t *testing.T) casesFile {
	t.Helper()
	b, err := os.ReadFile("testdata/dnsbl-cases.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c casesFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.QueryNames.IPv4) == 0 || len(c.QueryNames.IPv6) == 0 || len(c.Answers) == 0 || len(c.ZEN) == 0 {
		t.Fatalf("cases file not read: %+v", c)
	}
	return c
}

func expand(name string) string { return strings.ReplaceAll(name, "{zone}", caseZone) + "." }

func TestCaseQueryNames(t *testing.T) {
	c := loadCases(t)
	for _, q := range append(c.QueryNames.IPv4, c.QueryNames.IPv6...) {
		if got := dnsbl.IPQueryName(netip.MustParseAddr(q.IP), caseZone); got != expand(q.Name) {
			t.Errorf("%s: %s, want %s", q.IP, got, expand(q.Name))
		}
	}
	for _, q := range c.QueryNames.Domain {
		if got, ok := dnsbl.DomainQueryName(q.Domain, caseZone); !ok || got != expand(q.Name) {
			t.Errorf("%s: %s, want %s", q.Domain, got, expand(q.Name))
		}
	}
	if len(c.QueryNames.Domain) == 0 {
		t.Error("no domain query names read")
	}
	if _, ok := dnsbl.DomainQueryName(strings.Repeat("a.", 120)+"example", caseZone); ok {
		t.Error("a name over 253 octets was built")
	}
}

// TestCaseDomainQueryNames runs the file's domain cases through the uribl
// stage: a sender in the domain is found at the name the file gives.
func TestCaseDomainQueryNames(t *testing.T) {
	c := loadCases(t)
	st := newURIStage(t, "zones: [{zone: "+caseZone+"}]")
	for _, q := range c.QueryNames.Domain {
		z, err := resolver.ParseZone(expand(q.Name) + " 300 IN A 127.0.0.2\n")
		if err != nil {
			t.Fatal(err)
		}
		f := run(t, st, z, engine.Envelope{MailFrom: "someone@mail." + q.Domain}, nil)
		if !f.Listed || len(f.Hits) != 1 || f.Hits[0].Query+"." != expand(q.Name) || f.Hits[0].Item != q.Domain {
			t.Errorf("%s: hits %+v, want a query of %s", q.Domain, f.Hits, expand(q.Name))
		}
	}
}

// TestCaseIPv4Mapped: a v4 client seen as ::ffff:192.0.2.99 is queried in
// the IPv4 form.
func TestCaseIPv4Mapped(t *testing.T) {
	z, _ := resolver.ParseZone("99.2.0.192." + caseZone + ". 300 IN A 127.0.0.2\n")
	st := newStage(t, "zones: [{zone: "+caseZone+"}]")
	f := run(t, st, z, engine.Envelope{IP: netip.MustParseAddr("::ffff:192.0.2.99")}, nil)
	if len(f.Hits) != 1 || f.Hits[0].Query != "99.2.0.192."+caseZone {
		t.Fatalf("hits %+v", f.Hits)
	}
}

// TestCaseTestEntries serves the RFC 5782 test entries at the names the
// file gives and checks that our names find them.
func TestCaseTestEntries(t *testing.T) {
	c := loadCases(t)
	z := resolver.NewZone()
	add := func(name string) {
		rr, err := dns.NewRR(name + " 300 IN A 127.0.0.2")
		if err != nil {
			t.Fatal(err)
		}
		z.Add(rr)
	}
	for _, q := range append(c.QueryNames.IPv4, c.QueryNames.IPv6...) {
		if q.IP == "127.0.0.2" || q.IP == "::ffff:7f00:2" {
			add(expand(q.Name))
		}
	}
	add("test." + caseZone + ".")
	st := newStage(t, "{query_local: true, zones: [{zone: "+caseZone+"}]}")
	// The uribl stage checks the domain entries (TEST listed, INVALID
	// not) in its health check: no message can carry a bare TEST domain.
	if bad := newURIStage(t, "zones: [{zone: "+caseZone+"}]").HealthCheck(context.Background(), z); len(bad) != 0 {
		t.Errorf("uribl health check on the test entries: %v", bad)
	}
	for family, v := range c.TestEntries {
		m, ok := v.(map[string]any)
		if !ok {
			continue // the "use" note
		}
		for state, item := range m {
			item := fmt.Sprint(item)
			var name string
			if family == "domain" {
				name, _ = dnsbl.DomainQueryName(item, caseZone)
			} else {
				name = dnsbl.IPQueryName(netip.MustParseAddr(item), caseZone)
				if family == "ipv4" {
					f := run(t, st, z, engine.Envelope{IP: netip.MustParseAddr(item)}, nil)
					if f.Listed != (state == "listed") {
						t.Errorf("stage: %s %s: listed=%v", family, item, f.Listed)
					}
				}
			}
			a, err := z.Query(context.Background(), name, dns.TypeA)
			if err != nil {
				t.Fatal(err)
			}
			if (a.Status == resolver.Success) != (state == "listed") {
				t.Errorf("%s %s (%s): %v, want %s", family, item, name, a.Status, state)
			}
		}
	}
}

// TestCaseAnswers checks each way of answering the file lists.
func TestCaseAnswers(t *testing.T) {
	c := loadCases(t)
	const q = "99.2.0.192.answers.example."
	for _, a := range c.Answers {
		z := resolver.NewZone()
		var want string
		switch a.Answer {
		case "NXDOMAIN":
			want = "none"
		case "A 127.0.0.2":
			rr, _ := dns.NewRR(q + " 300 IN A 127.0.0.2")
			z.Add(rr)
			want = "listed"
		case "SERVFAIL/timeout":
			z.Fail(q, resolver.ErrTimeout)
			want = "temperror"
		case "A 0.0.0.0 or any address outside 127.0.0.0/8":
			for _, ip := range []string{"0.0.0.0", "192.0.2.1"} {
				z2 := resolver.NewZone()
				rr, _ := dns.NewRR(q + " 300 IN A " + ip)
				z2.Add(rr)
				f := run(t, newStage(t, "zones: [{zone: answers.example}]"), z2, engine.Envelope{IP: netip.MustParseAddr("192.0.2.99")}, nil)
				if f.Result != "temperror" || f.Listed {
					t.Errorf("answer %s: %+v", ip, f)
				}
			}
			continue
		default:
			t.Fatalf("answer %q not handled by this test", a.Answer)
		}
		f := run(t, newStage(t, "zones: [{zone: answers.example}]"), z, engine.Envelope{IP: netip.MustParseAddr("192.0.2.99")}, nil)
		if f.Result != want {
			t.Errorf("answer %s: result %s, want %s", a.Answer, f.Result, want)
		}
	}
}

// TestCaseZENCodes maps every ZEN code to its tag, and checks that the
// 127.255.255.x error codes the note describes are refusals.
func TestCaseZENCodes(t *testing.T) {
	c := loadCases(t)
	var settings, records strings.Builder
	settings.WriteString("zones: [{zone: zen.example, codes: {")
	n := 0
	want := map[string]string{}
	for code, meaning := range c.ZEN {
		if _, err := netip.ParseAddr(code); err != nil {
			continue // error_codes_note
		}
		tag := strings.ToLower(strings.Fields(meaning)[0])
		fmt.Fprintf(&settings, "%q: %q, ", code, tag)
		n++
		ip := fmt.Sprintf("192.0.2.%d", n)
		want[ip] = tag
		fmt.Fprintf(&records, "%d.2.0.192.zen.example. 300 IN A %s\n", n, code)
	}
	settings.WriteString("}}]")
	records.WriteString("254.2.0.192.zen.example. 300 IN A 127.255.255.254\n")
	z, err := resolver.ParseZone(records.String())
	if err != nil {
		t.Fatal(err)
	}
	st := newStage(t, settings.String())
	for ip, tag := range want {
		f := run(t, st, z, engine.Envelope{IP: netip.MustParseAddr(ip)}, nil)
		if !f.Listed || len(f.Hits) != 1 || f.Hits[0].Tags[0] != tag {
			t.Errorf("%s: want tag %s, got %+v", ip, tag, f)
		}
	}
	f := run(t, st, z, engine.Envelope{IP: netip.MustParseAddr("192.0.2.254")}, nil)
	if f.Listed || f.Result != "temperror" || len(f.Errors) != 1 {
		t.Errorf("127.255.255.254: %+v", f)
	}
}
