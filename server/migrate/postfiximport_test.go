package migrate

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/rules"
	_ "github.com/sluicemail/sluice/stages/all" // the stages the generated rules read
)

// loadPostfixFixture translates the real-format fixture copy of
// /etc/postfix.
func loadPostfixFixture(t *testing.T) (*GenRules, map[string]PostfixSetting) {
	t.Helper()
	f, err := os.Open("testdata/postfix/main.cf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cf, bad, err := ParseMainCF(f)
	if err != nil || len(bad) != 0 {
		t.Fatalf("%v %+v", err, bad)
	}
	return TranslatePostfix(cf, "testdata/postfix"), cf
}

// writeRules writes g as a rule directory and loads it as sluice does.
func writeRules(t *testing.T, g *GenRules) (*rules.Set, string) {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "postfix.yaml"), g.RuleFile("generated"), 0o644)
	os.WriteFile(filepath.Join(dir, "postfix_test.yaml"), g.TestFile("generated"), 0o644)
	if len(g.Zone) > 0 {
		os.WriteFile(filepath.Join(dir, SATestZone), g.ZoneFile(), 0o644)
	}
	set, err := rules.Load(dir, rules.Options{})
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "postfix.yaml"))
		t.Fatalf("generated rules do not load: %v\n%s", err, b)
	}
	return set, dir
}

func TestTranslatePostfixFixture(t *testing.T) {
	g, _ := loadPostfixFixture(t)
	set, dir := writeRules(t, g)
	results := set.RunTests(context.Background())
	for _, r := range results {
		if !r.Passed() {
			t.Errorf("generated test %q fails: %v (fired %v)", r.Case.Name, r.Failures, r.Verdict.Rules())
		}
	}
	if t.Failed() {
		b, _ := os.ReadFile(filepath.Join(dir, "postfix.yaml"))
		c, _ := os.ReadFile(filepath.Join(dir, "postfix_test.yaml"))
		t.Logf("%s\n%s", b, c)
	}
	if len(results) != 30 || len(g.Rules) != 30 {
		t.Errorf("%d rules and %d tests, want 30 of each", len(g.Rules), len(results))
	}
	source := regexp.MustCompile(`^[a-z_.]+:\d+`)
	for _, r := range g.Rules {
		if !source.MatchString(r.Comment) {
			t.Errorf("rule %s does not name its source: %q", r.Name, r.Comment)
		}
	}
	for _, l := range g.Lists {
		for _, e := range l.Entries {
			if !source.MatchString(e.Source) {
				t.Errorf("list %s entry %s does not name its source: %q", l.Name, e.Value, e.Source)
			}
		}
	}
	wantRules := map[string]string{
		"postfix-header-checks-2":      `reject 550 5.7.1 "spam"`,
		"postfix-header-checks-4":      "quarantine",
		"postfix-body-checks-5":        "discard",
		"postfix-client-access-cidr-3": `tempfail 450 4.7.1 "Try again later"`,
		"postfix-sender-access-5":      `reject 550 5.7.0 "We do not want your mail"`,
		"postfix-sender-regexp-2":      `reject 554 5.7.1 "No freemail please"`,
		"postfix-mynetworks":           "accept",
	}
	for _, r := range g.Rules {
		if want, ok := wantRules[r.Name]; ok {
			if r.Action != want {
				t.Errorf("rule %s: action %q, want %q", r.Name, r.Action, want)
			}
			delete(wantRules, r.Name)
		}
	}
	if len(wantRules) != 0 {
		t.Errorf("rules missing: %v", wantRules)
	}
	notes := strings.Join(g.Untranslated, "\n")
	for _, want := range []string{
		"client_access.cidr:6: not-a-network REJECT: not translated",
		"main.cf:37: smtpd_client_restrictions: reject_rbl_client zen.spamhaus.org: not translated",
		"sender_regexp:3: /^(.*)@\\1\\.example$/ REJECT: not translated (the pattern is not valid in RE2",
		"sender_regexp:4: !/@/ REJECT Need a domain: not translated",
		"sender_access:11: postmaster@ REJECT: not translated (a local-part key",
		"sender_access:12: unknown.example FILTER smtp:[127.0.0.1]:10025: not translated",
		"header_checks:7: /^Received:.*\\[10\\./ IGNORE: not translated",
		"header_checks:8: /viagra/ REJECT: not translated",
		"header_checks:9: entry: not translated (if/endif",
		"header_checks:10: entry: not translated (inside an if/endif block",
		"body_checks:4: /(?<=\\s)lookbehind/ REJECT: not translated",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("untranslated lacks %q:\n%s", want, notes)
		}
	}
	if covered := strings.Join(g.Covered, "\n"); strings.Contains(notes, "reject_unauth_destination") ||
		!strings.Contains(covered, "main.cf:31: smtpd_recipient_restrictions: reject_unauth_destination: sluice never relays") {
		t.Errorf("built-in restrictions: covered %q", covered)
	}
	if strings.Contains(notes, "header_checks:12") || strings.Contains(notes, "sender_access:13") {
		t.Errorf("continued entries reported as untranslated:\n%s", notes)
	}
	if want := []string{"relay: {smarthost: {host: smtp.isp.example, port: 587}}", "limits: {message_size: 52428800}"}; len(g.Config) != 2 ||
		!strings.HasPrefix(g.Config[0], want[0]) || !strings.HasPrefix(g.Config[1], want[1]) {
		t.Errorf("config: %q", g.Config)
	}
}

// TestGeneratedRulesDecide runs messages the fixture did not make through
// the generated rules: the DUNNO exception lets a subdomain pass while its
// parent is refused, the full address wins over its domain, the cidr
// table's first match wins, and a header check ignores a header that only
// looks alike.
func TestGeneratedRulesDecide(t *testing.T) {
	g, _ := loadPostfixFixture(t)
	cases := []struct {
		GenTest
		header string
	}{
		{GenTest{Name: "subdomain of the DUNNO entry", From: "x@deep.ok.bad.example", Action: "accept", NotRules: []string{"postfix-sender-access-4"}}, ""},
		{GenTest{Name: "other subdomain of a refused domain", From: "x@www.bad.example", Action: "reject", Reply: "554 5.7.1 Mail from bad.example is not accepted"}, ""},
		{GenTest{Name: "full address OK beats its refused domain", From: "friend@bad.example", Action: "accept", Rules: []string{"postfix-sender-access-2"}}, ""},
		{GenTest{Name: "address inside the refused network", IP: "198.51.100.200", Action: "reject", Reply: "554 5.7.1 Your network is blocked"}, ""},
		{GenTest{Name: "a lookalike header passes", Action: "accept"}, "X-Subject: buy viagra"},
		{GenTest{Name: "a case-sensitive check ignores another case", Action: "accept"}, "X-Case: sensitive"},
		{GenTest{Name: "a case-insensitive check matches another case", Action: "reject", Reply: "550 5.7.1 spam"}, "SUBJECT: VIAGRA deals"},
	}
	g.Tests = nil
	for _, c := range cases {
		tc := c.GenTest
		tc.Raw = testMessage(c.header, "")
		tc.IP = cmpOr(tc.IP, testIP)
		tc.HELO, tc.To = testHELO, []string{testRcpt}
		tc.From = cmpOr(tc.From, testFrom)
		g.Tests = append(g.Tests, tc)
	}
	set, _ := writeRules(t, g)
	for _, r := range set.RunTests(context.Background()) {
		if !r.Passed() {
			t.Errorf("%q: %v (fired %v)", r.Case.Name, r.Failures, r.Verdict.Rules())
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
