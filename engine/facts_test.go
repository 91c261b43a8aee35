package engine

import (
	"context"
	"slices"
	"testing"
)

// listStage stands in for the dnsbl and uribl stages: it lists everything
// it is asked about, from the phase it is given.
type listStage struct {
	ns    string
	phase Phase
}

func (s listStage) Namespace() string { return s.ns }
func (s listStage) Phase() Phase      { return s.phase }
func (s listStage) Run(ctx context.Context, in *Input) error {
	f := DNSBLFacts{Listed: true, Result: "listed", Hits: []DNSBLHit{{Zone: s.ns + ".example"}}}
	f.ListedIn = func(zone string) bool { return zone == s.ns+".example" }
	if s.ns == "uribl" {
		in.Facts.Uribl = f
	} else {
		in.Facts.Dnsbl = f
	}
	return nil
}
func (s listStage) Fail(f *Facts, err error) {}

// TestListNamespaces: dnsbl and uribl are two namespaces of the same shape.
// A rule is prepared for the phase of the stages it reads, so a rule on
// dnsbl alone keeps its connect phase beside a uribl stage at DATA, and
// each namespace is filled, shown and documented on its own.
func TestListNamespaces(t *testing.T) {
	rule := func(name, when string) *Rule {
		c, err := Compile(when, true)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		return &Rule{Name: name, When: c, Stop: true, Action: Action{Kind: ActionReject, Code: 554, Enhanced: "5.7.1"}}
	}
	p := &Pipeline{
		Rules: []*Rule{
			rule("ip", `dnsbl.listed_in("dnsbl.example")`),
			rule("domain", `uribl.listed and uribl.hits[0].zone == "uribl.example"`),
			rule("both", `dnsbl.listed or uribl.listed`),
		},
		Stages: map[string]Stage{"dnsbl": listStage{"dnsbl", PhaseConnect}, "uribl": listStage{"uribl", PhaseData}},
	}
	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	for i, want := range []Phase{PhaseConnect, PhaseData, PhaseData} {
		if r := p.Rules[i]; r.Phase() != want {
			t.Errorf("rule %s: phase %v, want %v (needs %v)", r.Name, r.Phase(), want, r.Needs())
		}
	}
	tx := p.Begin(NewMessage(Envelope{}, nil))
	if tx.Facts().Uribl.ListedIn("x") || tx.Facts().Dnsbl.ListedIn("x") {
		t.Fatal("listed_in true before any stage ran")
	}
	v := tx.Evaluate(context.Background(), PhaseConnect)
	if !v.Decided || !slices.Equal(v.Rules(), []string{"ip"}) || !slices.Equal(v.Stages, []string{"dnsbl"}) {
		t.Fatalf("at connect: %+v", v)
	}
	p.Rules = p.Rules[1:]
	tx = p.Begin(NewMessage(Envelope{}, []byte("Subject: x\r\n\r\n")))
	if v := tx.Evaluate(context.Background(), PhaseRcpt); v.Decided {
		t.Fatalf("a uribl rule decided before DATA: %+v", v)
	}
	if v := tx.Evaluate(context.Background(), PhaseData); !v.Decided || !slices.Equal(v.Rules(), []string{"domain"}) {
		t.Fatalf("at DATA: %+v", v)
	}
	m := FactsMap(tx.Facts(), []string{"uribl"})
	if u, ok := m["uribl"].(map[string]any); !ok || u["listed"] != true || m["dnsbl"] != nil {
		t.Fatalf("FactsMap: %v", m)
	}
}

// TestEnvironmentDocumented: `sluice rules env` shows every name with its
// meaning, uribl's included.
func TestEnvironmentDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Environment() {
		seen[f.Name] = true
		if f.Doc == "" {
			t.Errorf("%s has no doc", f.Name)
		}
	}
	for _, name := range []string{"dnsbl.listed", "uribl", "uribl.listed", "uribl.listed_in", "uribl.hits[].item", "uribl.score"} {
		if !seen[name] {
			t.Errorf("%s missing from the environment", name)
		}
	}
}
