package dnsbl_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

// bothLists is a rule file with an IP list and a domain list, the
// configuration that used to move every dnsbl rule to DATA.
const bothLists = `pipeline: inbound
stages:
  dnsbl:
    zones: [{zone: zen.example, codes: {127.0.0.2: sbl}}]
  uribl:
    zones: [{zone: dbl.example, codes: {127.0.1.2: spam, 127.0.1.4: phish}}]
rules:
  - name: client-listed
    when: dnsbl.listed
    action: reject 554 5.7.1 "Client {{ conn.ip }} is listed at {{ dnsbl.hits[0].zone }}"
  - name: domain-listed
    when: uribl.listed_in("dbl.example") and any(uribl.hits, {"spam" in .tags})
    action: reject 554 5.7.1 "{{ uribl.hits[0].item }} is listed at {{ uribl.hits[0].zone }}"
`

func loadRules(t *testing.T, files map[string]string) (*rules.Set, error) {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return rules.Load(dir, rules.Options{})
}

// TestRuleFileBothStages loads a rule file that configures both stages and
// evaluates it through the in-process DNS server: a listed client is
// refused at connection time without the domain lists being asked, and a
// message from a clean client that links to a listed domain waits for
// DATA and is refused by the uribl rule.
func TestRuleFileBothStages(t *testing.T) {
	set, err := loadRules(t, map[string]string{"inbound.yaml": bothLists})
	if err != nil {
		t.Fatal(err)
	}
	p := set.Pipeline(rules.Inbound)
	if p.Stages["dnsbl"].Phase() != engine.PhaseConnect || p.Stages["uribl"].Phase() != engine.PhaseData {
		t.Fatalf("phases: dnsbl %v, uribl %v", p.Stages["dnsbl"].Phase(), p.Stages["uribl"].Phase())
	}
	if p.Rules[0].Phase() != engine.PhaseConnect || p.Rules[1].Phase() != engine.PhaseData {
		t.Fatalf("rule phases: %v, %v", p.Rules[0].Phase(), p.Rules[1].Phase())
	}
	c, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{dnstest.Start(t, zone(t))}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	listed := p.Begin(engine.NewMessage(engine.Envelope{IP: netip.MustParseAddr("192.0.2.99")}, nil), engine.WithResolver(c))
	v := listed.Evaluate(ctx, engine.PhaseConnect)
	if !v.Decided || v.Reply() != "554 5.7.1 Client 192.0.2.99 is listed at zen.example" || !slices.Equal(v.Stages, []string{"dnsbl"}) {
		t.Fatalf("listed client at connect: decided %v %q, stages %v", v.Decided, v.Reply(), v.Stages)
	}

	m := engine.NewMessage(engine.Envelope{IP: netip.MustParseAddr("192.0.2.1"), MailFrom: "a@clean.example", Rcpt: []string{"b@example.org"}}, nil)
	tx := p.Begin(m, engine.WithResolver(c))
	for _, ph := range []engine.Phase{engine.PhaseConnect, engine.PhaseMail, engine.PhaseRcpt} {
		if v := tx.Evaluate(ctx, ph); v.Decided {
			t.Fatalf("clean client decided at %v: %+v", ph, v)
		}
	}
	m.SetRaw([]byte("From: <a@clean.example>\r\nSubject: hi\r\n\r\nSee https://www.bad-url.example/x or http://good.example/\r\n"))
	v = tx.Evaluate(ctx, engine.PhaseData)
	if !v.Decided || v.Reply() != "554 5.7.1 bad-url.example is listed at dbl.example" || v.Phase != engine.PhaseData {
		t.Fatalf("listed URL at DATA: decided %v %q phase %v", v.Decided, v.Reply(), v.Phase)
	}
	if f := tx.Facts(); f.Dnsbl.Listed || !f.Uribl.Listed || f.Uribl.Hits[0].Item != "bad-url.example" {
		t.Fatalf("facts: dnsbl %+v, uribl %+v", f.Dnsbl, f.Uribl)
	}
}

// TestRuleTestOverride: a rule file reads uribl with no list configured
// (as the example rules do) and its test file turns a list on for its own
// cases, with a zone file; the cases pass with the list and the running
// pipeline keeps none.
func TestRuleTestOverride(t *testing.T) {
	zonePath := filepath.Join(t.TempDir(), "zone.txt")
	if err := os.WriteFile(zonePath, []byte("bad-url.example.dbl.example. 300 IN A 127.0.1.2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := loadRules(t, map[string]string{
		"inbound.yaml": "pipeline: inbound\nrules:\n  - {name: domain-listed, when: uribl.listed, score: 5}\n",
		"inbound_test.yaml": `pipeline: inbound
stages:
  uribl: {zones: [{zone: dbl.example}]}
tests:
  - name: a link to a listed domain scores
    raw: "From: a@clean.example\n\nhttp://bad-url.example/\n"
    envelope: {ip: 192.0.2.1}
    dns: ` + zonePath + `
    expect: {rules: [domain-listed], score: 5}
  - name: a clean message does not
    raw: "From: a@clean.example\n\nhttp://good.example/\n"
    envelope: {ip: 192.0.2.1}
    dns: ` + zonePath + `
    expect: {not_rules: [domain-listed], score: 0}
`,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range set.RunTests(context.Background()) {
		if !r.Passed() {
			t.Errorf("%s: %s", r.Case.Name, strings.Join(r.Failures, "; "))
		}
	}
	if z := set.Pipeline(rules.Inbound).Stages["uribl"].(interface{ Zones() []string }).Zones(); len(z) != 0 {
		t.Errorf("the test override leaked into the running pipeline: %v", z)
	}
}

// TestRuleFileWrongStage: a domain list under dnsbl is refused at load with
// the rule file's position and the stage it goes under.
func TestRuleFileWrongStage(t *testing.T) {
	_, err := loadRules(t, map[string]string{"inbound.yaml": `pipeline: inbound
stages:
  dnsbl:
    zones: [{zone: dbl.example, type: domain}]
rules:
  - {name: listed, when: dnsbl.listed, action: reject}
`})
	errs := rules.Errors(err)
	if len(errs) != 1 || errs[0].Line != 4 || !strings.HasSuffix(errs[0].Error(), "stage dnsbl: zone dbl.example: domain lists go under the uribl stage") {
		t.Fatalf("errors: %v", err)
	}
}
