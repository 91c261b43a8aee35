package rdns_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
	"github.com/sluicemail/sluice/stages/rdns"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

func fixture() string {
	var b strings.Builder
	b.WriteString(`
10.2.0.192.in-addr.arpa.  300 IN PTR mail.good.example.
mail.good.example.        300 IN A   192.0.2.10
11.2.0.192.in-addr.arpa.  300 IN PTR liar.example.
liar.example.             300 IN A   198.51.100.1
12.2.0.192.in-addr.arpa.  300 IN PTR nowhere.example.
13.2.0.192.in-addr.arpa.  300 IN PTR slow.example.
14.2.0.192.in-addr.arpa.  300 IN PTR a.multi.example.
14.2.0.192.in-addr.arpa.  300 IN PTR B.Multi.Example.
a.multi.example.          300 IN A   198.51.100.2
b.multi.example.          300 IN A   192.0.2.14
15.2.0.192.in-addr.arpa.  300 IN PTR slow.example.
15.2.0.192.in-addr.arpa.  300 IN PTR ok.example.
ok.example.               300 IN A   192.0.2.15
16.2.0.192.in-addr.arpa.  300 IN PTR alias.example.
alias.example.            300 IN CNAME target.example.
target.example.           300 IN A     192.0.2.16
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR v6.example.
v6.example.               300 IN AAAA 2001:db8::1
`)
	// 12 PTR names; only the last resolves back, beyond the bound of 10.
	for i := range 12 {
		fmt.Fprintf(&b, "30.2.0.192.in-addr.arpa. 300 IN PTR n%02d.many.example.\n", i)
		ip := "198.51.100.9"
		if i == 11 {
			ip = "192.0.2.30"
		}
		fmt.Fprintf(&b, "n%02d.many.example. 300 IN A %s\n", i, ip)
	}
	return b.String()
}

func zone(t testing.TB) *resolver.Zone {
	t.Helper()
	z, err := resolver.ParseZone(fixture())
	if err != nil {
		t.Fatal(err)
	}
	z.Fail("slow.example", resolver.ErrTimeout)
	z.Fail("20.2.0.192.in-addr.arpa", resolver.ErrTimeout)
	z.Fail("21.2.0.192.in-addr.arpa", resolver.ErrServFail)
	return z
}

var cases = []struct {
	ip, result string
	fcrdns     bool
	names      string
}{
	{"192.0.2.10", "pass", true, "mail.good.example"},
	{"::ffff:192.0.2.10", "pass", true, "mail.good.example"},
	{"2001:db8::1", "pass", true, "v6.example"},
	{"192.0.2.16", "pass", true, "alias.example"},
	{"192.0.2.14", "pass", true, "a.multi.example,b.multi.example"},
	{"192.0.2.15", "pass", true, "slow.example,ok.example"},
	{"192.0.2.11", "fail", false, "liar.example"},
	{"192.0.2.12", "fail", false, "nowhere.example"},
	{"192.0.2.30", "fail", false, "n00.many.example,n01.many.example,n02.many.example,n03.many.example,n04.many.example,n05.many.example,n06.many.example,n07.many.example,n08.many.example,n09.many.example"},
	{"192.0.2.99", "none", false, ""},
	{"2001:db8::2", "none", false, ""},
	{"192.0.2.13", "temperror", false, "slow.example"},
	{"192.0.2.20", "temperror", false, ""},
	{"192.0.2.21", "temperror", false, ""},
}

func TestResults(t *testing.T) {
	z := zone(t)
	c, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{dnstest.Start(t, z)}, Timeout: 200 * time.Millisecond, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := stages.New("rdns", stages.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	for kind, r := range map[string]resolver.Resolver{"zone": z, "network": c} {
		for _, tc := range cases {
			t.Run(kind+"/"+tc.ip, func(t *testing.T) {
				in := &engine.Input{Msg: engine.NewMessage(engine.Envelope{IP: netip.MustParseAddr(tc.ip)}, nil), Facts: &engine.Facts{}, DNS: r}
				if err := st.Run(context.Background(), in); err != nil {
					t.Fatal(err)
				}
				f := in.Facts.Rdns
				names := strings.Join(f.Names, ",")
				if kind == "network" {
					// PTR order on the wire is the server's; compare as sets.
					names = sortedJoin(f.Names)
					tc.names = sortedJoin(strings.Split(tc.names, ","))
				}
				if f.Result != tc.result || f.FCrDNS != tc.fcrdns || names != tc.names {
					t.Fatalf("got %s fcrdns=%v names=%s; want %s %v %s", f.Result, f.FCrDNS, names, tc.result, tc.fcrdns, tc.names)
				}
			})
		}
	}
}

func sortedJoin(s []string) string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return strings.Trim(strings.Join(c, ","), ",")
}

func TestBoundSetting(t *testing.T) {
	st, err := stages.New("rdns", stages.Settings{Raw: []byte("max_names: 12\n")})
	if err != nil {
		t.Fatal(err)
	}
	in := &engine.Input{Msg: engine.NewMessage(engine.Envelope{IP: netip.MustParseAddr("192.0.2.30")}, nil), Facts: &engine.Facts{}, DNS: zone(t)}
	if err := st.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if in.Facts.Rdns.Result != "pass" || len(in.Facts.Rdns.Names) != 12 {
		t.Fatalf("with max_names 12: %+v", in.Facts.Rdns)
	}
	for _, bad := range []string{"max_names: -1\n", "max_name: 3\n", "max_names: [1]\n"} {
		if _, err := stages.New("rdns", stages.Settings{Raw: []byte(bad)}); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestNoIP(t *testing.T) {
	in := &engine.Input{Msg: engine.NewMessage(engine.Envelope{}, nil), Facts: &engine.Facts{}, DNS: zone(t)}
	st, _ := rdns.New(rdns.Settings{})
	if err := st.Run(context.Background(), in); err != nil || in.Facts.Rdns.Result != "none" {
		t.Fatalf("%v %+v", err, in.Facts.Rdns)
	}
	var f engine.Facts
	st.Fail(&f, context.DeadlineExceeded)
	if f.Rdns.Result != "temperror" || f.Rdns.FCrDNS {
		t.Fatalf("Fail: %+v", f.Rdns)
	}
}

// TestPipeline scores a client without FCrDNS at connect.
func TestPipeline(t *testing.T) {
	st, _ := rdns.New(rdns.Settings{})
	when, err := engine.Compile(`not rdns.fcrdns and rdns.result != "temperror"`, true)
	if err != nil {
		t.Fatal(err)
	}
	p := &engine.Pipeline{Name: "inbound", Rules: []*engine.Rule{{Name: "no-fcrdns", When: when, Score: 2.5}}, Stages: map[string]engine.Stage{"rdns": st}}
	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	for ip, score := range map[string]float64{"192.0.2.10": 0, "192.0.2.11": 2.5, "192.0.2.99": 2.5, "192.0.2.13": 0} {
		env := engine.Envelope{IP: netip.MustParseAddr(ip)}
		v := p.Begin(engine.NewMessage(env, nil), engine.WithResolver(zone(t))).Evaluate(context.Background(), engine.PhaseData)
		if v.Score != score {
			t.Errorf("%s: score %v, want %v", ip, v.Score, score)
		}
	}
}

// TestNoResolver: a pipeline without a resolver gives temperror, not a
// panic and not a pass.
func TestNoResolver(t *testing.T) {
	st, _ := rdns.New(rdns.Settings{})
	when, _ := engine.Compile(`rdns.result == "temperror"`, true)
	p := &engine.Pipeline{Name: "inbound", Rules: []*engine.Rule{{Name: "t", When: when, Score: 1}}, Stages: map[string]engine.Stage{"rdns": st}}
	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	v := p.Begin(engine.NewMessage(engine.Envelope{IP: netip.MustParseAddr("192.0.2.10")}, nil)).Evaluate(context.Background(), engine.PhaseData)
	if v.Score != 1 {
		t.Fatalf("verdict %+v", v)
	}
}
