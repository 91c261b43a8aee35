package dnsbl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
	"github.com/sluicemail/sluice/stages/dnsbl"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

const fixture = `
zen.example.                 3600 IN SOA ns.zen.example. h.zen.example. 1 1 1 1 60
2.0.0.127.zen.example.        300 IN A 127.0.0.2
99.2.0.192.zen.example.       300 IN A 127.0.0.2
99.2.0.192.zen.example.       300 IN A 127.0.0.4
10.2.0.192.zen.example.       300 IN A 127.0.0.10
9.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.example. 300 IN A 127.0.0.2
99.2.0.192.wl.example.        300 IN A 127.0.10.2
50.2.0.192.wl.example.        300 IN A 127.0.10.3
99.2.0.192.refuse.example.    300 IN A 127.255.255.254
99.2.0.192.parked.example.    300 IN A 192.0.2.200
99.2.0.192.dbl-as-ip.example. 300 IN A 127.0.1.255
99.2.0.192.bits.example.      300 IN A 127.0.0.6
50.2.0.192.bits.example.      300 IN A 127.0.0.8
99.2.0.192.plain.example.     300 IN A 127.0.0.2
spam-sender.example.dbl.example. 300 IN A 127.0.1.2
bad-url.example.dbl.example.     300 IN A 127.0.1.2
phish.example.dbl.example.       300 IN A 127.0.1.4
xn--bcher-kva.example.dbl.example. 300 IN A 127.0.1.2
`

func zone(t testing.TB) *resolver.Zone {
	t.Helper()
	z, err := resolver.ParseZone(fixture)
	if err != nil {
		t.Fatal(err)
	}
	z.Fail("99.2.0.192.down.example", resolver.ErrTimeout)
	z.Fail("99.2.0.192.broken.example", resolver.ErrServFail)
	return z
}

// newStage builds the dnsbl stage (IP lists) through the registry, as a
// rule file does.
func newStage(t testing.TB, yaml string) *dnsbl.Stage {
	t.Helper()
	return build(t, dnsbl.Namespace, yaml)
}

// newURIStage builds the uribl stage (domain lists).
func newURIStage(t testing.TB, yaml string) *dnsbl.Stage {
	t.Helper()
	return build(t, dnsbl.URINamespace, yaml)
}

func build(t testing.TB, ns, yaml string) *dnsbl.Stage {
	t.Helper()
	st, err := stages.New(ns, stages.Settings{Raw: []byte(yaml)})
	if err != nil {
		t.Fatal(err)
	}
	if st.Namespace() != ns {
		t.Fatalf("stage registered as %s says it is %s", ns, st.Namespace())
	}
	return st.(*dnsbl.Stage)
}

// run runs a stage on one message and returns the facts of its namespace,
// failing if it wrote into the other stage's.
func run(t testing.TB, st *dnsbl.Stage, r resolver.Resolver, env engine.Envelope, raw []byte) engine.DNSBLFacts {
	t.Helper()
	in := &engine.Input{Msg: engine.NewMessage(env, raw), Facts: &engine.Facts{}, DNS: r}
	if err := st.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	own, other := in.Facts.Dnsbl, in.Facts.Uribl
	if st.Namespace() == dnsbl.URINamespace {
		own, other = other, own
	}
	if other.Result != "" || other.Hits != nil {
		t.Fatalf("stage %s wrote into the other namespace: %+v", st.Namespace(), other)
	}
	return own
}

type ipCase struct {
	name     string
	settings string
	ip       string
	result   string
	listed   bool
	allowed  bool
	score    float64
	tags     string // hits' tags, joined
	errors   string
}

var ipCases = []ipCase{
	{"listed with codes", `zones: [{zone: zen.example, codes: {127.0.0.2: sbl, 127.0.0.4: xbl}, score: 3}]`,
		"192.0.2.99", "listed", true, false, 3, "sbl,xbl", ""},
	{"per-code scores", `zones: [{zone: zen.example, codes: {127.0.0.2: {tag: sbl, score: 4}, 127.0.0.4: {tag: xbl, score: 1.5}}, score: 3}]`,
		"192.0.2.99", "listed", true, false, 5.5, "sbl,xbl", ""},
	{"not listed: NXDOMAIN", `zones: [{zone: zen.example, score: 3}]`,
		"192.0.2.1", "none", false, false, 0, "", ""},
	{"unmapped code is no hit", `zones: [{zone: zen.example, codes: {127.0.0.2: sbl}}]`,
		"192.0.2.10", "none", false, false, 0, "", ""},
	{"no mapping: any 127/8 code is a hit", `zones: [{zone: plain.example, score: 1}]`,
		"192.0.2.99", "listed", true, false, 1, "", ""},
	{"ipv6 nibbles", `zones: [{zone: zen.example, codes: {127.0.0.2: sbl}}]`,
		"2001:db8::99", "listed", true, false, 0, "sbl", ""},
	{"ipv4-mapped client queried as ipv4", `zones: [{zone: zen.example, codes: {127.0.0.2: sbl}}]`,
		"::ffff:192.0.2.99", "listed", true, false, 0, "sbl", ""},
	{"allow list counts negatively", `zones: [{zone: wl.example, allow: true, score: 2}]`,
		"192.0.2.50", "allowed", false, true, -2, "", ""},
	{"listed and allowed", `zones: [{zone: zen.example, score: 3}, {zone: wl.example, allow: true, score: -2}]`,
		"192.0.2.99", "listed", true, true, 1, "", ""},
	{"bitmask", `zones: [{zone: bits.example, bitmask: {2: spam, 4: phish, 8: malware}, score: 2}]`,
		"192.0.2.99", "listed", true, false, 2, "spam,phish", ""},
	{"bitmask, one bit", `zones: [{zone: bits.example, bitmask: {2: spam, 4: phish, 8: {tag: malware, score: 5}}}]`,
		"192.0.2.50", "listed", true, false, 5, "malware", ""},
	{"error code 127.255.255.x refused", `zones: [{zone: refuse.example, score: 3}]`,
		"192.0.2.99", "temperror", false, false, 0, "", "refuse.example"},
	{"answer outside 127/8 refused", `zones: [{zone: parked.example, score: 3}]`,
		"192.0.2.99", "temperror", false, false, 0, "", "parked.example"},
	{"configured refused code", `zones: [{zone: dbl-as-ip.example, refused: [127.0.1.255]}]`,
		"192.0.2.99", "temperror", false, false, 0, "", "dbl-as-ip.example"},
	{"timeout", `zones: [{zone: down.example, score: 3}]`,
		"192.0.2.99", "temperror", false, false, 0, "", "down.example"},
	{"servfail", `zones: [{zone: broken.example, score: 3}]`,
		"192.0.2.99", "temperror", false, false, 0, "", "broken.example"},
	{"one list down, another lists", `zones: [{zone: down.example}, {zone: zen.example, codes: {127.0.0.2: sbl}}]`,
		"192.0.2.99", "listed", true, false, 0, "sbl", "down.example"},
	{"no lists", `zones: []`, "192.0.2.99", "none", false, false, 0, "", ""},
}

func TestIPLists(t *testing.T) {
	z := zone(t)
	c, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{dnstest.Start(t, z)}, Timeout: 200 * time.Millisecond, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	for kind, r := range map[string]resolver.Resolver{"zone": z, "network": c} {
		for _, tc := range ipCases {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				st := newStage(t, tc.settings)
				if st.Phase() != engine.PhaseConnect {
					t.Fatalf("IP lists only: phase %v, want connect", st.Phase())
				}
				f := run(t, st, r, engine.Envelope{IP: netip.MustParseAddr(tc.ip)}, nil)
				var tags []string
				for _, h := range f.Hits {
					tags = append(tags, h.Tags...)
					if h.Item != netip.MustParseAddr(tc.ip).Unmap().String() || !strings.HasSuffix(h.Query, h.Zone) {
						t.Errorf("hit %+v: wrong item or query", h)
					}
				}
				got := fmt.Sprintf("%s listed=%v allowed=%v score=%v tags=%s errors=%s",
					f.Result, f.Listed, f.Allowed, f.Score, strings.Join(tags, ","), strings.Join(f.Errors, ","))
				want := fmt.Sprintf("%s listed=%v allowed=%v score=%v tags=%s errors=%s",
					tc.result, tc.listed, tc.allowed, tc.score, tc.tags, tc.errors)
				if got != want {
					t.Fatalf("got  %s\nwant %s", got, want)
				}
				for _, h := range f.Hits {
					if !f.ListedIn(h.Zone) || !f.ListedIn(strings.ToUpper(h.Zone)+".") {
						t.Errorf("listed_in(%q) false", h.Zone)
					}
				}
				if f.ListedIn("other.example") {
					t.Error("listed_in(other.example) true")
				}
			})
		}
	}
}

const message = "From: Someone <x@Phish.Example>\r\nTo: a@b.example\r\nSubject: hi\r\n" +
	"Content-Type: text/plain\r\n\r\nSee https://www.bad-url.example/x and http://good.example/ " +
	"and http://sub.bad-url.example/y and http://192.0.2.5/z and https://bad-url.example/again\r\n"

// TestDomainLists configures an IP list under dnsbl and a domain list
// under uribl, as a rule file would: adding the domain list leaves dnsbl
// at connect, uribl runs after DATA, and each namespace holds its own
// lists' hits only.
func TestDomainLists(t *testing.T) {
	ip := newStage(t, `zones: [{zone: zen.example, codes: {127.0.0.2: sbl}}]`)
	uri := newURIStage(t, `zones: [{zone: dbl.example, type: domain, codes: {127.0.1.2: spam, 127.0.1.4: phish}, score: 2}]`)
	if ip.Phase() != engine.PhaseConnect || uri.Phase() != engine.PhaseData {
		t.Fatalf("phases: dnsbl %v, uribl %v; want connect and data", ip.Phase(), uri.Phase())
	}
	env := engine.Envelope{IP: netip.MustParseAddr("192.0.2.99"), MailFrom: "bounce@mail.spam-sender.example"}
	hits := func(f engine.DNSBLFacts) []string {
		var got []string
		for _, h := range f.Hits {
			got = append(got, fmt.Sprintf("%s %s %s %v", h.Zone, h.Item, h.Query, h.Tags))
		}
		slices.Sort(got)
		return got
	}
	f := run(t, uri, zone(t), env, []byte(message))
	want := []string{
		"dbl.example spam-sender.example spam-sender.example.dbl.example [spam]",
		"dbl.example phish.example phish.example.dbl.example [phish]",
		"dbl.example bad-url.example bad-url.example.dbl.example [spam]",
	}
	slices.Sort(want)
	if got := hits(f); !slices.Equal(got, want) {
		t.Fatalf("uribl hits:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if f.Score != 6 || f.Result != "listed" || !f.ListedIn("dbl.example") || f.ListedIn("zen.example") {
		t.Fatalf("uribl: score %v result %s", f.Score, f.Result)
	}
	f = run(t, ip, zone(t), env, []byte(message))
	if got := hits(f); !slices.Equal(got, []string{"zen.example 192.0.2.99 99.2.0.192.zen.example [sbl]"}) {
		t.Fatalf("dnsbl hits: %v", got)
	}
	if f.Result != "listed" || f.ListedIn("dbl.example") {
		t.Fatalf("dnsbl: result %s, listed_in(dbl.example) %v", f.Result, f.ListedIn("dbl.example"))
	}
}

// TestDomainIDN: a sender domain in U-labels is looked up in A-label form.
func TestDomainIDN(t *testing.T) {
	st := newURIStage(t, `zones: [{zone: dbl.example}]`)
	f := run(t, st, zone(t), engine.Envelope{MailFrom: "x@mail.B\u00fccher.example"}, nil)
	if len(f.Hits) != 1 || f.Hits[0].Item != "xn--bcher-kva.example" {
		t.Fatalf("hits %+v", f.Hits)
	}
}

// TestDomainBound checks that at most max_domains domains are looked up,
// sender and From first.
func TestDomainBound(t *testing.T) {
	z := zone(t)
	srv := dnstest.StartServer(t, z)
	c, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{srv.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	for i := range 50 {
		fmt.Fprintf(&body, "http://host%d.example/ http://www.host%d.example/\r\n", i, i)
	}
	raw := "From: x@phish.example\r\n\r\n" + body.String()
	st := newURIStage(t, `{max_domains: 5, zones: [{zone: dbl.example, type: domain}]}`)
	f := run(t, st, c, engine.Envelope{MailFrom: "a@spam-sender.example"}, []byte(raw))
	if srv.Queries() != 5 {
		t.Fatalf("%d queries, want 5", srv.Queries())
	}
	if len(f.Hits) != 2 {
		t.Fatalf("hits %+v, want the sender's and From's", f.Hits)
	}
}

// TestLocalClients: loopback, private and link-local clients are not
// looked up unless query_local is set.
func TestLocalClients(t *testing.T) {
	z, err := resolver.ParseZone(`
1.0.0.10.zen.example. 300 IN A 127.0.0.2
2.0.0.127.zen.example. 300 IN A 127.0.0.2
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, local := range []bool{false, true} {
		st := newStage(t, fmt.Sprintf("{query_local: %v, zones: [{zone: zen.example}]}", local))
		for _, ip := range []string{"10.0.0.1", "127.0.0.2", "::ffff:10.0.0.1"} {
			f := run(t, st, z, engine.Envelope{IP: netip.MustParseAddr(ip)}, nil)
			if f.Listed != local {
				t.Errorf("query_local %v, %s: listed=%v", local, ip, f.Listed)
			}
		}
	}
}

// TestSettingsErrors: bad list settings are refused by both stages.
func TestSettingsErrors(t *testing.T) {
	bad := []string{
		`zones: [{zone: ""}]`,
		`zones: [{zone: "bad zone"}]`,
		`zones: [{zone: a.example, type: url}]`,
		`zones: [{zone: a.example, codes: {10.0.0.2: x}}]`,
		`zones: [{zone: a.example, codes: {nonsense: x}}]`,
		`zones: [{zone: a.example, bitmask: {3: x}}]`,
		`zones: [{zone: a.example, bitmask: {256: x}}]`,
		`zones: [{zone: a.example, refused: [x]}]`,
		`zones: [{zone: a.example}, {zone: A.example.}]`,
		`zones: [{zone: a.example, scroe: 1}]`,
	}
	for _, ns := range []string{dnsbl.Namespace, dnsbl.URINamespace} {
		for _, s := range bad {
			if _, err := stages.New(ns, stages.Settings{Raw: []byte(s)}); err == nil {
				t.Errorf("%s accepted %s", ns, s)
			}
		}
	}
	if _, err := stages.New(dnsbl.URINamespace, stages.Settings{Raw: []byte(`max_domains: -1`)}); err == nil {
		t.Error("uribl accepted max_domains: -1")
	}
}

// TestWrongStage: a list or a setting under the stage it does not belong
// to is refused at load, and the error names the zone and the stage it
// goes under, so that nobody's domain list silently moves the dnsbl rules
// to DATA again.
func TestWrongStage(t *testing.T) {
	for _, tc := range []struct{ ns, settings, want string }{
		{"dnsbl", `zones: [{zone: zen.example}, {zone: DBL.example., type: domain}]`,
			"stage dnsbl: zone dbl.example: domain lists go under the uribl stage"},
		{"uribl", `zones: [{zone: zen.example, type: ip, codes: {127.0.0.2: sbl}}]`,
			"stage uribl: zone zen.example: IP lists go under the dnsbl stage"},
		{"dnsbl", `{max_domains: 5, zones: [{zone: zen.example}]}`,
			"stage dnsbl: max_domains bounds the domains looked up in domain lists: it goes under the uribl stage"},
		{"uribl", `{query_local: true, zones: [{zone: dbl.example}]}`,
			"stage uribl: query_local is about client IPs: it goes under the dnsbl stage"},
		{"dnsbl", `zones: [{zone: a.example, type: url}]`,
			`stage dnsbl: zone a.example: type "url" (want ip, or leave it out)`},
		{"uribl", `zones: [{zone: a.example, type: url}]`,
			`stage uribl: zone a.example: type "url" (want domain, or leave it out)`},
	} {
		_, err := stages.New(tc.ns, stages.Settings{Raw: []byte(tc.settings)})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s %s:\n got  %v\n want %s", tc.ns, tc.settings, err, tc.want)
		}
	}
	// The same zone may be asked by both stages (some lists hold both).
	for _, ns := range []string{"dnsbl", "uribl"} {
		if _, err := stages.New(ns, stages.Settings{Raw: []byte(`zones: [{zone: both.example}]`)}); err != nil {
			t.Errorf("%s: %v", ns, err)
		}
	}
}

// TestPipeline runs the stage in the engine: a reject at connect that
// names the list, and listed_in.
func TestPipeline(t *testing.T) {
	st := newStage(t, `zones: [{zone: zen.example, codes: {127.0.0.2: sbl}}, {zone: down.example}]`)
	when, err := engine.Compile(`dnsbl.listed_in("zen.example") and "down.example" in dnsbl.errors`, true)
	if err != nil {
		t.Fatal(err)
	}
	text, err := engine.CompileTemplate("Listed at {{ dnsbl.hits[0].zone }} ({{ dnsbl.hits[0].tags[0] }})")
	if err != nil {
		t.Fatal(err)
	}
	p := &engine.Pipeline{
		Name:   "inbound",
		Rules:  []*engine.Rule{{Name: "bl", When: when, Stop: true, Action: engine.Action{Kind: engine.ActionReject, Code: 554, Enhanced: "5.7.1", Text: text}}},
		Stages: map[string]engine.Stage{"dnsbl": st},
	}
	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	env := engine.Envelope{IP: netip.MustParseAddr("192.0.2.99")}
	v := p.Begin(engine.NewMessage(env, nil), engine.WithResolver(zone(t))).Evaluate(context.Background(), engine.PhaseConnect)
	if !v.Decided || v.Action != engine.ActionReject || v.Text != "Listed at zen.example (sbl)" {
		t.Fatalf("verdict %+v", v)
	}
	env.IP = netip.MustParseAddr("192.0.2.1")
	v = p.Begin(engine.NewMessage(env, nil), engine.WithResolver(zone(t))).Evaluate(context.Background(), engine.PhaseConnect)
	if v.Action != engine.ActionAccept {
		t.Fatalf("clean client: %+v", v)
	}
}

// TestFail: a stage that could not finish records temperror in its own
// namespace, never a listing, and leaves the other stage's alone.
func TestFail(t *testing.T) {
	var f engine.Facts
	newStage(t, "").Fail(&f, context.DeadlineExceeded)
	if f.Dnsbl.Result != "temperror" || f.Dnsbl.Listed || f.Dnsbl.ListedIn("x") || f.Uribl.Result != "" {
		t.Fatalf("dnsbl Fail: %+v / %+v", f.Dnsbl, f.Uribl)
	}
	f = engine.Facts{}
	newURIStage(t, "").Fail(&f, context.DeadlineExceeded)
	if f.Uribl.Result != "temperror" || f.Uribl.Listed || f.Uribl.ListedIn("x") || len(f.Uribl.Errors) != 1 || f.Dnsbl.Result != "" {
		t.Fatalf("uribl Fail: %+v / %+v", f.Uribl, f.Dnsbl)
	}
}

func TestHealthCheck(t *testing.T) {
	z, err := resolver.ParseZone(`
2.0.0.127.good.example.  300 IN A 127.0.0.2
test.dbl.example.        300 IN A 127.0.1.2
1.0.0.127.all.example.   300 IN A 127.0.0.2
2.0.0.127.all.example.   300 IN A 127.0.0.2
2.0.0.127.ipbl.example.  300 IN A 127.0.0.2
`)
	if err != nil {
		t.Fatal(err)
	}
	z.Fail("2.0.0.127.down.example", resolver.ErrTimeout)
	st := newStage(t, `zones: [{zone: good.example}, {zone: expired.example}, {zone: all.example}, {zone: down.example}]`)
	got := st.HealthCheck(context.Background(), z)
	if len(got) != 3 || got["good.example"] != nil ||
		!errors.Is(got["expired.example"], dnsbl.ErrUnhealthy) || !errors.Is(got["all.example"], dnsbl.ErrUnhealthy) ||
		!errors.Is(got["down.example"], resolver.ErrTimeout) {
		t.Fatalf("dnsbl health: %v", got)
	}
	// Domain lists publish TEST and INVALID instead; ipbl.example lists
	// 127.0.0.2 but not TEST, so it is no domain list.
	st = newURIStage(t, `zones: [{zone: dbl.example, type: domain}, {zone: ipbl.example}]`)
	got = st.HealthCheck(context.Background(), z)
	if len(got) != 1 || got["dbl.example"] != nil || !errors.Is(got["ipbl.example"], dnsbl.ErrUnhealthy) {
		t.Fatalf("uribl health: %v", got)
	}
}

// A list that refuses the query is logged with the stage that asked, as
// dnsbl and uribl can name zones of the same operator.
func TestFailedLookupLogNamesStage(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(prev)
	st := newStage(t, `zones: [{zone: refuse.example}]`)
	f := run(t, st, zone(t), engine.Envelope{IP: netip.MustParseAddr("192.0.2.99")}, nil)
	if f.Result != "temperror" {
		t.Fatalf("result %s, want temperror", f.Result)
	}
	if !strings.Contains(logs.String(), `msg="dns list lookup failed" stage=dnsbl zone=refuse.example`) {
		t.Errorf("log: %q", logs.String())
	}
}
