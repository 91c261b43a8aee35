package spf_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
	"github.com/sluicemail/sluice/stages/spf"
)

const fixture = `
pass.example.    300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
fail.example.    300 IN TXT "v=spf1 ip4:198.51.100.1 -all"
soft.example.    300 IN TXT "v=spf1 ~all"
neutral.example. 300 IN TXT "v=spf1 ?all"
none.example.    300 IN TXT "google-site-verification=abc"
perm.example.    300 IN TXT "v=spf1 ip4:192.0.2.0/24 bogus:x -all"
two.example.     300 IN TXT "v=spf1 -all"
two.example.     300 IN TXT "v=spf1 +all"
inc.example.     300 IN TXT "v=spf1 include:down.example -all"
mx.example.      300 IN TXT "v=spf1 mx -all"
mx.example.      300 IN MX  10 mail.mx.example.
mail.mx.example. 300 IN A   192.0.2.25
helo.example.    300 IN TXT "v=spf1 a -all"
helo.example.    300 IN A   192.0.2.7
v6.example.      300 IN TXT "v=spf1 ip6:2001:db8::/32 -all"
split.example.   300 IN TXT "v=spf1 ip4:192.0.2.0/24" " -all"
exp.example.     300 IN TXT "v=spf1 -all exp=why.%{d}"
why.exp.example. 300 IN TXT "%{i} may not send for %{d} (%{L}, %{c}, %{v})"
redir.example.   300 IN TXT "v=spf1 exp=wrong.exp.example redirect=exp.example"
inject.example.  300 IN TXT "v=spf1 -all exp=why.inject.example"
why.inject.example. 300 IN TXT "line one\013\010250 OK \195\169"
`

func zone(t testing.TB) *resolver.Zone {
	t.Helper()
	z, err := resolver.ParseZone(fixture)
	if err != nil {
		t.Fatal(err)
	}
	z.Fail("down.example", resolver.ErrTimeout)
	z.Fail("servfail.example", resolver.ErrServFail)
	return z
}

type spfCase struct {
	name, ip, helo, from string
	result, identity     string
	domain               string
}

var spfCases = []spfCase{
	{"pass", "192.0.2.10", "mx.client.example", "a@pass.example", "pass", "mailfrom", "pass.example"},
	{"fail", "192.0.2.10", "x", "a@fail.example", "fail", "mailfrom", "fail.example"},
	{"softfail", "192.0.2.10", "x", "a@soft.example", "softfail", "mailfrom", "soft.example"},
	{"neutral", "192.0.2.10", "x", "a@neutral.example", "neutral", "mailfrom", "neutral.example"},
	{"none: no SPF record", "192.0.2.10", "x", "a@none.example", "none", "mailfrom", "none.example"},
	{"none: NXDOMAIN", "192.0.2.10", "x", "a@nowhere.example", "none", "mailfrom", "nowhere.example"},
	{"permerror: unknown mechanism", "192.0.2.10", "x", "a@perm.example", "permerror", "mailfrom", "perm.example"},
	{"permerror: two records", "192.0.2.10", "x", "a@two.example", "permerror", "mailfrom", "two.example"},
	{"temperror: timeout", "192.0.2.10", "x", "a@down.example", "temperror", "mailfrom", "down.example"},
	{"temperror: servfail", "192.0.2.10", "x", "a@servfail.example", "temperror", "mailfrom", "servfail.example"},
	{"temperror: include times out", "192.0.2.10", "x", "a@inc.example", "temperror", "mailfrom", "inc.example"},
	{"mx pass", "192.0.2.25", "x", "a@mx.example", "pass", "mailfrom", "mx.example"},
	{"ipv6 pass", "2001:db8::25", "x", "a@v6.example", "pass", "mailfrom", "v6.example"},
	{"ipv4-mapped client", "::ffff:192.0.2.10", "x", "a@pass.example", "pass", "mailfrom", "pass.example"},
	{"split TXT strings joined", "198.51.100.1", "x", "a@split.example", "fail", "mailfrom", "split.example"},
	{"null sender checks HELO", "192.0.2.7", "helo.example", "", "pass", "helo", "helo.example"},
	{"null sender, HELO fails", "192.0.2.8", "HELO.example.", "", "fail", "helo", "helo.example"},
	{"null sender, address literal HELO", "192.0.2.8", "[192.0.2.8]", "", "none", "helo", "[192.0.2.8]"},
}

func TestStageResults(t *testing.T) {
	z := zone(t)
	c, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{dnstest.Start(t, z)}, Timeout: 200 * time.Millisecond, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	st := spf.New(spf.Settings{})
	for kind, r := range map[string]resolver.Resolver{"zone": z, "network": c} {
		for _, tc := range spfCases {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				env := engine.Envelope{IP: netip.MustParseAddr(tc.ip), HELO: tc.helo, MailFrom: tc.from}
				in := &engine.Input{Msg: engine.NewMessage(env, nil), Facts: &engine.Facts{}, DNS: r}
				if err := st.Run(context.Background(), in); err != nil {
					t.Fatal(err)
				}
				f := in.Facts.SPF
				if f.Result != tc.result || f.Identity != tc.identity || f.Domain != tc.domain {
					t.Fatalf("got %+v, want result %s identity %s domain %s", f, tc.result, tc.identity, tc.domain)
				}
				if f.Explanation == "" {
					t.Fatal("no explanation")
				}
			})
		}
	}
}

// TestExplanation checks the exp= text of a fail (RFC 7208 section 6.2),
// its macros, and that redirect= takes the target's exp=.
func TestExplanation(t *testing.T) {
	st := spf.New(spf.Settings{})
	for from, want := range map[string]string{
		"j&d@exp.example": "192.0.2.10 may not send for exp.example (j%26d, 192.0.2.10, in-addr)",
		"a@redir.example": "192.0.2.10 may not send for exp.example (a, 192.0.2.10, in-addr)",
		"a@fail.example":  "matched all",
	} {
		env := engine.Envelope{IP: netip.MustParseAddr("192.0.2.10"), HELO: "x", MailFrom: from}
		in := &engine.Input{Msg: engine.NewMessage(env, nil), Facts: &engine.Facts{}, DNS: zone(t)}
		if err := st.Run(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		if f := in.Facts.SPF; f.Result != "fail" || f.Explanation != want {
			t.Errorf("%s: %s %q, want %q", from, f.Result, f.Explanation, want)
		}
	}
}

func TestNoClientIP(t *testing.T) {
	in := &engine.Input{Msg: engine.NewMessage(engine.Envelope{MailFrom: "a@pass.example"}, nil), Facts: &engine.Facts{}, DNS: zone(t)}
	if err := spf.New(spf.Settings{}).Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if in.Facts.SPF.Result != "none" {
		t.Fatalf("result %q without a client IP", in.Facts.SPF.Result)
	}
}

// TestPipeline runs the stage from the registry inside the engine, with a
// rule that rejects on fail and a stage that times out.
func TestPipeline(t *testing.T) {
	st, err := stages.New("spf", stages.Settings{Raw: []byte("void_lookup_limit: 2\n")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stages.New("spf", stages.Settings{Raw: []byte("bogus: 1\n")}); err == nil {
		t.Fatal("unknown setting accepted")
	}
	when, err := engine.Compile(`spf.result in ["fail", "temperror"]`, true)
	if err != nil {
		t.Fatal(err)
	}
	text, err := engine.CompileTemplate("SPF {{ spf.result }} for {{ spf.domain }}")
	if err != nil {
		t.Fatal(err)
	}
	p := &engine.Pipeline{
		Name:   "inbound",
		Rules:  []*engine.Rule{{Name: "spf", When: when, Stop: true, Action: engine.Action{Kind: engine.ActionReject, Code: 550, Enhanced: "5.7.23", Text: text}}},
		Stages: map[string]engine.Stage{"spf": st},
	}
	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	if p.Rules[0].Phase() != engine.PhaseMail {
		t.Fatalf("rule phase %v, want mail", p.Rules[0].Phase())
	}
	for from, want := range map[string]string{
		"a@fail.example": "SPF fail for fail.example",
		"a@down.example": "SPF temperror for down.example",
		"a@pass.example": "",
	} {
		env := engine.Envelope{IP: netip.MustParseAddr("192.0.2.10"), HELO: "x", MailFrom: from}
		v := p.Begin(engine.NewMessage(env, nil), engine.WithResolver(zone(t))).Evaluate(context.Background(), engine.PhaseMail)
		if !v.Decided && want != "" {
			t.Fatalf("%s: undecided", from)
		}
		if got := v.Text; got != want || (want != "" && v.Action != engine.ActionReject) {
			t.Fatalf("%s: verdict %s %q, want %q", from, v.Action, got, want)
		}
	}
}

// TestStageTimeout checks that a check cut short by its context reports
// temperror through Fail.
func TestStageTimeout(t *testing.T) {
	z := zone(t)
	c, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{dnstest.Start(t, z)}, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	env := engine.Envelope{IP: netip.MustParseAddr("192.0.2.10"), MailFrom: "a@down.example"}
	in := &engine.Input{Msg: engine.NewMessage(env, nil), Facts: &engine.Facts{}, DNS: c}
	if err := spf.New(spf.Settings{}).Run(ctx, in); err != nil {
		t.Fatal(err)
	}
	if f := in.Facts.SPF; f.Result != "temperror" || !strings.Contains(f.Explanation, "timed out") {
		t.Fatalf("got %+v", f)
	}
	var f engine.Facts
	spf.New(spf.Settings{}).Fail(&f, context.DeadlineExceeded)
	if f.SPF.Result != "temperror" {
		t.Fatal("Fail does not give temperror")
	}
}
