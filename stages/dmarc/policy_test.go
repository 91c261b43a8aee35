package dmarc

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/miekg/dns"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/resolver"
)

type scenario struct {
	ID    string                    `yaml:"id"`
	Model string                    `yaml:"model"`
	Zone  map[string]map[string]any `yaml:"zone"`
	From  string                    `yaml:"from"`
	SPF   []struct {
		Domain string `yaml:"domain"`
		Result string `yaml:"result"`
	} `yaml:"spf"`
	DKIM []struct {
		D      string `yaml:"d"`
		Result string `yaml:"result"`
	} `yaml:"dkim"`
	Expect struct {
		Result       string `yaml:"result"`
		Policy       string `yaml:"policy"`
		PolicyDomain string `yaml:"policy_domain"`
		OrgDomain    string `yaml:"org_domain"`
	} `yaml:"expect"`
}

// TestPolicyEvaluation runs testdata/policy-evaluation.yml: the scenarios
// of model rfc7489 and both. The rfc9989 ones (DNS Tree Walk, np, psd, t)
// are skipped with the reason printed: sluice implements RFC 7489.
func TestPolicyEvaluation(t *testing.T) {
	b, err := os.ReadFile("testdata/policy-evaluation.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Scenarios []scenario `yaml:"scenarios"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	ran := 0
	var rfc9989 []string
	for _, sc := range file.Scenarios {
		if sc.Model == "rfc9989" {
			rfc9989 = append(rfc9989, sc.ID)
			continue
		}
		ran++
		t.Run(sc.ID, func(t *testing.T) {
			ev := Evaluate(context.Background(), scenarioZone(t, sc.Zone), scenarioInput(sc))
			e := sc.Expect
			if ev.Result != e.Result {
				t.Errorf("result %s (%s), want %s", ev.Result, ev.Reason, e.Result)
			}
			if e.Policy != "" && ev.Policy != e.Policy {
				t.Errorf("policy %s, want %s", ev.Policy, e.Policy)
			}
			if e.Result == ResultNone && ev.Policy != "" {
				t.Errorf("policy %q with result none", ev.Policy)
			}
			if e.PolicyDomain != "" && ev.PolicyDomain != e.PolicyDomain {
				t.Errorf("policy domain %s, want %s", ev.PolicyDomain, e.PolicyDomain)
			}
			if e.OrgDomain != "" && ev.OrgDomain != e.OrgDomain {
				t.Errorf("org domain %s, want %s", ev.OrgDomain, e.OrgDomain)
			}
		})
	}
	t.Logf("not run, model rfc9989 (DNS Tree Walk, np/psd/t tags; sluice implements RFC 7489 with the Public Suffix List): %v", rfc9989)
	if ran < 20 {
		t.Errorf("only %d scenarios ran", ran)
	}
}

func scenarioInput(sc scenario) Input {
	in := Input{From: sc.From, SampleKey: sc.ID}
	if len(sc.SPF) > 0 {
		in.SPF = engine.SPFFacts{Result: sc.SPF[0].Result, Domain: sc.SPF[0].Domain, Identity: "mailfrom"}
	}
	var results []engine.DKIMResult
	for _, d := range sc.DKIM {
		results = append(results, engine.DKIMResult{Domain: d.D, Result: d.Result})
	}
	in.DKIM = dkimFacts(results...)
	return in
}

// dkimFacts builds what the dkim stage would report.
func dkimFacts(results ...engine.DKIMResult) engine.DKIMFacts {
	f := engine.DKIMFacts{Result: "none", Results: results}
	for _, r := range results {
		if r.Result == "pass" {
			f.Pass, f.Result = true, "pass"
			f.PassDomains = append(f.PassDomains, r.Domain)
		}
	}
	return f
}

// scenarioZone turns the YAML zone (owner -> type -> records) into a Zone.
func scenarioZone(t *testing.T, data map[string]map[string]any) *resolver.Zone {
	t.Helper()
	z := resolver.NewZone()
	for owner, types := range data {
		for typ, list := range types {
			for _, rec := range list.([]any) {
				switch typ {
				case "TXT":
					var strs []string
					for _, s := range rec.([]any) {
						strs = append(strs, s.(string))
					}
					z.Add(&dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(owner), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300}, Txt: strs})
				case "A":
					z.Add(mustRR(t, fmt.Sprintf("%s 300 IN A %s", dns.Fqdn(owner), rec)))
				case "MX":
					mx := rec.([]any)
					z.Add(mustRR(t, fmt.Sprintf("%s 300 IN MX %v %s", dns.Fqdn(owner), mx[0], dns.Fqdn(fmt.Sprint(mx[1])))))
				default:
					t.Fatalf("zone type %s not handled", typ)
				}
			}
		}
	}
	return z
}

func mustRR(t *testing.T, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

// TestInternationalFrom: a From domain in U-labels is looked up in its
// A-label form, its organizational record is found, and a signature by the
// A-label form of the same domain aligns.
func TestInternationalFrom(t *testing.T) {
	z := scenarioZone(t, map[string]map[string]any{
		"_dmarc.xn--bcher-kva.example": {"TXT": []any{[]any{"v=DMARC1; p=reject"}}},
	})
	ev := Evaluate(context.Background(), z, Input{From: "post.bücher.example", DKIM: dkimFacts(engine.DKIMResult{Domain: "xn--bcher-kva.example", Result: "pass"})})
	if ev.Result != ResultPass || !ev.AlignedDKIM || ev.Policy != "reject" || ev.OrgDomain != "bücher.example" || ev.PolicyDomain != "bücher.example" {
		t.Errorf("%+v", ev)
	}
}
