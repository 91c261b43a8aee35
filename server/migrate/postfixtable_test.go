package migrate

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestParseRegexpTable(t *testing.T) {
	in := "# comment\n/^a\\/b/ REJECT x\n!/c/i   DUNNO\n#/d/ OK\n|e|m   WARN\n  continued\n/unclosed REJECT\n/noaction/\nif /x/\n/y/ OK\nendif\n/z/ OK\n"
	entries, bad, err := ParseRegexpTable(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []RegexpEntry{
		{Line: 2, Pattern: `^a\/b`, Action: "REJECT x"},
		{Line: 3, Pattern: "c", Flags: "i", Negate: true, Action: "DUNNO"},
		{Line: 5, Pattern: "e", Flags: "m", Action: "WARN continued"},
		{Line: 12, Pattern: "z", Action: "OK"},
	}
	if !slices.Equal(entries, want) {
		t.Errorf("entries:\n%+v\nwant\n%+v", entries, want)
	}
	var lines []int
	for _, b := range bad {
		lines = append(lines, b.Line)
	}
	if !slices.Equal(lines, []int{7, 8, 9, 10}) {
		t.Errorf("bad lines %v: %+v", lines, bad)
	}
}

func TestParseAction(t *testing.T) {
	for _, c := range []struct {
		in      string
		content bool
		want    string // Rule(), or "error"
	}{
		{"OK", false, "accept"},
		{"ok", false, "accept"},
		{"REJECT", false, `reject 554 5.7.1 "Access denied"`},
		{"REJECT", true, `reject 550 5.7.1 "Message content rejected"`},
		{"REJECT 521 5.2.1 Gone", true, `reject 521 5.2.1 "Gone"`},
		{"DEFER", false, `tempfail 450 4.7.1 "Try again later"`},
		{"450 Busy", false, `tempfail 450 4.7.1 "Busy"`},
		{"554 5.7.1 No \"quotes\" here", false, `reject 554 5.7.1 "No \"quotes\" here"`},
		{"HOLD why", true, "quarantine"},
		{"DISCARD", false, "discard"},
		{"REDIRECT a@b.example", false, "redirect a@b.example"},
		{"WARN x", true, ""},
		{"DUNNO", false, ""},
		{"WARN", false, "error"},
		{"OK", true, "error"},
		{"550 4.7.1 mixed", false, "error"},
		{"REJECT 450 wrong class", false, "error"},
		{"REJECT {{ conn.ip }}", false, "error"},
		{"FILTER smtp:x", false, "error"},
		{"PREPEND X-A: b", true, "error"},
	} {
		a, err := parseAction(c.in, c.content)
		got := a.Rule()
		if err != nil {
			got = "error"
		}
		if got != c.want {
			t.Errorf("parseAction(%q, %v) = %q (%v), want %q", c.in, c.content, got, err, c.want)
		}
	}
}

func TestClientPrefix(t *testing.T) {
	for in, want := range map[string]string{"10": "10.0.0.0/8", "192.168": "192.168.0.0/16", "192.168.1": "192.168.1.0/24",
		"192.168.1.2": "192.168.1.2/32", "[::1]": "::1/128", "2001:db8::/32": "2001:db8::/32", "1.2.3.4.5": "1.2.3.4.5", "host.example": "host.example"} {
		if got := clientPrefix(in); got != want {
			t.Errorf("clientPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExampleMatch(t *testing.T) {
	for _, pat := range []string{`(?i)^Subject: .*viagra`, `^(From|Reply-To):.*@lottery\.example`, `[^a-z]+x{2,3}y?`, `\d{3}-\w+`, `caf[é]`} {
		re := regexp.MustCompile(pat)
		ex, ok := exampleMatch(re)
		if !ok || !re.MatchString(ex) {
			t.Errorf("%s: %q %v", pat, ex, ok)
		}
	}
	if ex, ok := exampleMatch(regexp.MustCompile(`a\bb`)); ok {
		t.Errorf("an impossible pattern gave %q", ex)
	}
}

func TestParseAliasesAndDomains(t *testing.T) {
	entries, bad, err := ParseAliases(strings.NewReader("# x\nroot: alice\npostmaster:root,\n  bob@example.org\nbroken\n\"quoted\": carol\n"))
	if err != nil || len(bad) != 1 || bad[0].Line != 5 || len(entries) != 3 {
		t.Fatalf("%v %+v %+v", err, bad, entries)
	}
	if got, _ := AliasTargets(entries[1].Targets, "mail.example.org"); !slices.Equal(got, []string{"root@mail.example.org", "bob@example.org"}) {
		t.Errorf("targets %v", got)
	}
	if _, err := AliasTargets([]string{"|/bin/prog"}, "x.example"); err == nil {
		t.Error("a command target was accepted")
	}
	cf := map[string]PostfixSetting{"myhostname": {Value: "mx.example.org"}, "mydestination": {Value: "$myhostname, ${mydomain} localhost.$mydomain, localhost, hash:/etc/postfix/dest"}}
	if got := LocalDomains(cf); !slices.Equal(got, []string{"mx.example.org", "example.org"}) {
		t.Errorf("LocalDomains %v", got)
	}
}
