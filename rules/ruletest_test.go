package rules

import (
	"context"
	"github.com/sluicemail/sluice/stages/resolver"
	"strings"
	"testing"
)

const zoneFile = `$ORIGIN example.
@ 300 IN SOA ns.example. hostmaster.example. 1 3600 600 86400 300
`

func TestRuleTests(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"inbound.yaml": `pipeline: inbound
stages:
  rdns: {names: [mail.example.net]}
rules:
  - name: blocked-helo
    when: conn.helo == "bad.example"
    action: reject 554 5.7.1 "Bad HELO {{ conn.helo }}"
  - name: named
    when: len(rdns.names) > 0
    score: 1.5
  - name: flag
    when: score > 1
    headers: {X-Flag: "yes"}
`,
		"inbound_test.yaml": `tests:
  - name: bad helo is refused
    message: testdata/plain.eml
    envelope: {ip: 192.0.2.10, helo: bad.example, from: a@example.net, to: [b@example.org]}
    dns: testdata/zone.txt
    expect: {action: reject, rules: [blocked-helo], reply: "554 5.7.1 Bad HELO bad.example"}
  - name: good helo scores
    raw: |
      From: a@example.net
      Subject: hi

      text
    expect: {action: accept, rules: [named, flag], score: {min: 1, max: 2}, headers: {X-Flag: "yes"}}
  - name: wrong on purpose
    message: testdata/plain.eml
    expect: {action: junk, score: 7}
`,
		"testdata/plain.eml": "Received: from mx.example.net (mx.example.net [192.0.2.77])\r\n\tby mail.example.org\r\nReturn-Path: <bounce@example.net>\r\nDelivered-To: bob@example.org\r\nFrom: a@example.net\r\nSubject: hi\r\n\r\nhello\r\n",
		"testdata/zone.txt":  zoneFile,
	})
	set, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	results := set.RunTests(context.Background())
	if len(results) != 3 {
		t.Fatalf("%d results", len(results))
	}
	for _, r := range results[:2] {
		if !r.Passed() {
			t.Errorf("%s: %v", r.Case.Name, r.Failures)
		}
	}
	bad := results[2]
	got := strings.Join(bad.Failures, "; ")
	if bad.Passed() || !strings.Contains(got, "action: expected junk, got accept") || !strings.Contains(got, "score: expected 7, got 1.5") {
		t.Errorf("wrong expectation not reported clearly: %q", got)
	}
	// The envelope not given in the test comes from the message.
	env := bad.Case.Envelope
	if env.IP.String() != "192.0.2.77" || env.HELO != "mx.example.net" || env.MailFrom != "bounce@example.net" || strings.Join(env.Rcpt, ",") != "bob@example.org" {
		t.Errorf("derived envelope %+v", env)
	}
}

func TestRuleTestFileErrors(t *testing.T) {
	_, err := Load(writeDir(t, map[string]string{
		"inbound.yaml":      "pipeline: inbound\nrules: [{name: a, score: 1}]\n",
		"inbound_test.yaml": "tests:\n  - name: no message\n    expect: {action: accept}\n  - name: x\n    message: missing.eml\n    expect: {action: accept}\n",
	}), Options{})
	errs := Errors(err)
	if len(errs) != 2 || !strings.Contains(errs[0].Msg, "no message") || !strings.Contains(errs[1].Msg, "missing.eml") || errs[1].Line != 4 {
		t.Fatalf("got %v", err)
	}
}

// TestStageOverrideInTestFile: a test file may give its cases their own
// stage settings (a model fixture) without touching the running pipeline.
func TestStageOverrideInTestFile(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"inbound.yaml": "pipeline: inbound\nrules:\n  - {name: named, when: 'len(rdns.names) > 0', score: 1}\n",
		"fixture_test.yaml": `stages:
  rdns: {names: [fixture.example]}
tests:
  - name: the override is used
    raw: "Subject: x\n\nbody\n"
    expect: {rules: [named]}
`,
		"plain_test.yaml": `tests:
  - name: the rule set's own settings are used
    raw: "Subject: x\n\nbody\n"
    expect: {rules: []}
`,
	})
	set, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range set.RunTests(context.Background()) {
		if !r.Passed() {
			t.Errorf("%s: %v", r.Case.Name, r.Failures)
		}
	}
	v := eval(t, set.Pipeline(Inbound), envAlice, plainMsg, 4)
	if len(v.Fired) != 0 {
		t.Errorf("the override leaked into the running pipeline: %v", v.Rules())
	}
}

// TestRuleTestsNeverUseTheServersDNS: a case without a zone file runs with
// no DNS at all, whatever resolver the rule set was loaded with.
func TestRuleTestsNeverUseTheServersDNS(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"inbound.yaml": "pipeline: inbound\nstages:\n  rdns: {report_dns: true}\nrules:\n  - {name: offline, when: 'rdns.names[0] == \"engine.NoDNS\"', score: 1}\n",
		"inbound_test.yaml": "tests:\n  - {name: no zone, raw: \"Subject: x\\n\\nb\\n\", expect: {rules: [offline]}}\n" +
			"  - {name: zone, raw: \"Subject: x\\n\\nb\\n\", dns: zone.txt, expect: {rules: []}}\n",
		"zone.txt": zoneFile,
	})
	set, err := Load(dir, Options{DNS: resolver.NewZone()})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range set.RunTests(context.Background()) {
		if !r.Passed() {
			t.Errorf("%s: %v", r.Case.Name, r.Failures)
		}
	}
}
