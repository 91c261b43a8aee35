package mtasts

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParsePolicy(t *testing.T) {
	good := "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n"
	p, err := ParsePolicy(good)
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != Enforce || len(p.MX) != 2 || p.MaxAge != 7*24*time.Hour {
		t.Fatalf("parsed %+v", p)
	}
	if p.String() != good {
		t.Errorf("String() = %q, want the input back", p.String())
	}
	cases := []struct {
		name, text string
		ok         bool
	}{
		{"lf line ends, unknown key", "version: STSv1\nmode: testing\nmx: a.example\nmax_age: 86400\nextension: x\n", true},
		{"mode none without mx", "version: STSv1\nmode: none\nmax_age: 1\n", true},
		{"max_age capped", "version: STSv1\nmode: testing\nmx: a.example\nmax_age: 99999999999\n", false},
		{"wrong version", "version: STSv2\nmode: testing\nmx: a.example\nmax_age: 1\n", false},
		{"bad mode", "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n", false},
		{"no mx", "version: STSv1\nmode: enforce\nmax_age: 1\n", false},
		{"no max_age", "version: STSv1\nmode: enforce\nmx: a.example\n", false},
		{"negative max_age", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", false},
		{"bad mx", "version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n", false},
		{"no colon", "version: STSv1\nmode enforce\n", false},
		{"html page", "<html><body>hello</body></html>", false},
		{"too large", strings.Repeat("x: y\n", 20000), false},
	}
	for _, c := range cases {
		_, err := ParsePolicy(c.text)
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrPolicy) {
			t.Errorf("%s: %v does not wrap ErrPolicy", c.name, err)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	cases := []struct {
		pattern, host string
		want          bool
	}{
		{"mail.example.com", "mail.example.com.", true},
		{"mail.example.com", "MAIL.Example.COM", true},
		{"*.example.com", "mx1.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "a.b.example.com", false}, // one label only (RFC 8461 section 4.1)
		{"mail.example.com", "mail.example.com.evil", false},
	}
	for _, c := range cases {
		if got := MatchPattern(c.pattern, c.host); got != c.want {
			t.Errorf("MatchPattern(%q, %q) = %v", c.pattern, c.host, got)
		}
	}
}

func TestRecord(t *testing.T) {
	for txt, want := range map[string]string{
		"v=STSv1; id=20160831085700Z;":           "20160831085700Z",
		"v=STSv1;id=abc":                         "abc",
		"v=STSv1; id=abc; ext=1":                 "abc",
		"v=STSv1; id=a-b":                        "",
		"v=STSv1;":                               "",
		"v=STSv2; id=1":                          "",
		"v=STSv1; id=" + strings.Repeat("a", 33): "",
	} {
		r, err := ParseRecord(txt)
		if want == "" {
			if err == nil {
				t.Errorf("%q: parsed %+v, want an error", txt, r)
			}
			continue
		}
		if err != nil || r.ID != want {
			t.Errorf("%q: %+v, %v; want id %s", txt, r, err, want)
		}
	}
	if _, err := PickRecord([]string{"v=spf1 -all", "v=STSv1; id=1", "v=STSv1; id=2"}); !errors.Is(err, ErrNoRecord) {
		t.Errorf("two records: %v, want ErrNoRecord", err)
	}
	if r, err := PickRecord([]string{"v=spf1 -all", "v=STSv1; id=1"}); err != nil || r.ID != "1" {
		t.Errorf("one record among others: %+v %v", r, err)
	}
}
