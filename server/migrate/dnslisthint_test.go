package migrate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/rules"
)

// TestDNSListHintWorks pastes what the import prints for reject_rbl_client
// and reject_rhsbl_sender into a rule directory, as its reader is told to,
// and runs rule tests against a zone file: the hint must load and refuse
// what Postfix refused, with the code filter (zone=127.0.0.2) kept.
func TestDNSListHintWorks(t *testing.T) {
	cf := map[string]PostfixSetting{"smtpd_recipient_restrictions": {Name: "smtpd_recipient_restrictions", Line: 3,
		Value: "permit_mynetworks, reject_rbl_client bl.example=127.0.0.2, reject_rhsbl_sender dbl.example, reject_unauth_destination"}}
	g := TranslatePostfix(cf, t.TempDir())
	pasted := map[string][2]string{} // stage: zone entry, rule
	for _, n := range g.Untranslated {
		parts := strings.Split(n, "`")
		if len(parts) != 5 {
			continue
		}
		stage := "dnsbl"
		if strings.Contains(n, "reject_rhsbl_sender") {
			stage = "uribl"
		}
		pasted[stage] = [2]string{strings.TrimPrefix(parts[1], "- "), parts[3]}
	}
	if len(pasted) != 2 {
		t.Fatalf("want a paste-able hint for each DNS list restriction, got:\n%s", strings.Join(g.Untranslated, "\n"))
	}
	dir := t.TempDir()
	ruleFile := "pipeline: inbound\nstages:\n" +
		"  dnsbl:\n    zones:\n      - " + pasted["dnsbl"][0] + "\n" +
		"  uribl:\n    zones:\n      - " + pasted["uribl"][0] + "\n" +
		"rules:\n  - " + pasted["dnsbl"][1] + "\n  - " + pasted["uribl"][1] + "\n"
	zone := "$ORIGIN .\n$TTL 300\n" +
		"1.2.0.192.bl.example. IN A 127.0.0.2\n" +
		"2.2.0.192.bl.example. IN A 127.0.0.3\n" + // listed, but not with the code Postfix asked for
		// The From header's domain is listed too: Postfix looked only at
		// the envelope sender, so must the hint.
		"spammer.example.dbl.example. IN A 127.0.0.2\n"
	msg := "From: a@spammer.example\nTo: b@rcpt.example\nSubject: hi\n\nhello\n"
	tests := "pipeline: inbound\ntests:\n" +
		"  - {name: listed client, raw: " + q(msg) + ", dns: zone.txt, envelope: {ip: 192.0.2.1, helo: h.example, from: a@sender.example, to: [b@rcpt.example]}," +
		" expect: {action: reject, reply: \"554 5.7.1 Service unavailable; client host blocked using bl.example\", rules: [postfix-bl-example]}}\n" +
		"  - {name: other code, raw: " + q(msg) + ", dns: zone.txt, envelope: {ip: 192.0.2.2, helo: h.example, from: a@sender.example, to: [b@rcpt.example]}," +
		" expect: {action: accept, not_rules: [postfix-bl-example]}}\n" +
		"  - {name: listed sender, raw: " + q(msg) + ", dns: zone.txt, envelope: {ip: 192.0.2.3, helo: h.example, from: a@spammer.example, to: [b@rcpt.example]}," +
		" expect: {action: reject, rules: [postfix-dbl-example]}}\n" +
		"  - {name: listed sender's subdomain, raw: " + q(msg) + ", dns: zone.txt, envelope: {ip: 192.0.2.3, helo: h.example, from: a@mail.spammer.example, to: [b@rcpt.example]}," +
		" expect: {action: reject, rules: [postfix-dbl-example]}}\n"
	for name, data := range map[string]string{"inbound.yaml": ruleFile, "inbound_test.yaml": tests, "zone.txt": zone} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := rules.Load(dir, rules.Options{})
	if err != nil {
		t.Fatalf("the pasted hint does not load: %v\n%s", err, ruleFile)
	}
	results := set.RunTests(context.Background())
	if len(results) != 4 {
		t.Fatalf("%d results", len(results))
	}
	for _, r := range results {
		if !r.Passed() {
			t.Errorf("%s: %v (fired %v)\n%s", r.Case.Name, r.Failures, r.Verdict.Rules(), ruleFile)
		}
	}
}
