package migrate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTranslateSpamAssassinFixture translates a local.cf in the real
// format: the generated rules load, every generated test passes, each
// rule names its source line and every line left out is reported.
func TestTranslateSpamAssassinFixture(t *testing.T) {
	f, err := os.Open("testdata/spamassassin/local.cf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := TranslateSpamAssassin(f, "local.cf")
	if err != nil {
		t.Fatal(err)
	}
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
	if len(results) != 8 {
		t.Errorf("%d tests, want 8", len(results))
	}
	rules := map[string]GenRule{}
	for _, r := range g.Rules {
		rules[r.Name] = r
	}
	if r := rules["spamassassin-required-score"]; r.When != "score >= 4.5" || r.Action != "junk" || !strings.HasPrefix(r.Comment, "local.cf:9:") {
		t.Errorf("required_score rule: %+v", r)
	}
	if r := rules["spamassassin-whitelist-from-rcvd-1"]; !strings.Contains(r.When, `"mx.corp.example"`) || r.Score != -100 {
		t.Errorf("whitelist_from_rcvd rule: %+v", r)
	}
	text := string(g.RuleFile("x"))
	for _, want := range []string{`"friend@example.net"  # local.cf:12`, `"partner.example"  # local.cf:12`, `".university.example"  # local.cf:13`,
		`"spammy.example"  # local.cf:17`, `"192.168.1.0/24"  # local.cf:22`, `"10.0.0.1/32"  # local.cf:22`} {
		if !strings.Contains(text, want) {
			t.Errorf("rule file lacks %s", want)
		}
	}
	if strings.Contains(text, "removed@example.net") {
		t.Error("unwhitelist_from did not remove the address")
	}
	notes := strings.Join(g.Untranslated, "\n")
	for _, want := range []string{"local.cf:6: rewrite_header Subject *****SPAM*****: not translated", "local.cf:7: report_safe 0",
		"local.cf:24: trusted_networks not-a-net: not translated (not an address or network)", "local.cf:28: score URIBL_BLACK 5.0", "local.cf:22: trusted_networks !10.0.0.2: not translated (an exclusion",
		"local.cf:29: ifplugin", "local.cf:26: use_bayes 1: not translated (sluice has its own Bayes stage"} {
		if !strings.Contains(notes, want) {
			t.Errorf("untranslated lacks %q:\n%s", want, notes)
		}
	}
}

func FuzzTranslateSpamAssassin(f *testing.F) {
	if b, err := os.ReadFile("testdata/spamassassin/local.cf"); err == nil {
		f.Add(string(b))
	}
	f.Add("whitelist_from *@*\nblacklist_from ?@[\ntrusted_networks 1.2/33\n")
	f.Fuzz(func(t *testing.T, in string) {
		g, _ := TranslateSpamAssassin(strings.NewReader(in), "local.cf")
		for _, r := range g.Rules {
			if r.Name == "" || r.When == "" {
				t.Fatalf("%+v", r)
			}
		}
		g.RuleFile("x")
		g.TestFile("x")
	})
}
