package migrate

import (
	"os"
	"strings"
	"testing"
)

func TestParseMainCFFixture(t *testing.T) {
	f, err := os.Open("testdata/postfix/main.cf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cf, bad, err := ParseMainCF(f)
	if err != nil || len(bad) != 0 {
		t.Fatalf("%v %+v", err, bad)
	}
	v := cf["virtual_alias_maps"]
	tables := Tables(v.Value)
	if v.Line != 29 || len(tables) != 2 || tables[0] != (PostfixTable{"hash", "/etc/postfix/virtual"}) || tables[1] != (PostfixTable{"regexp", "/etc/postfix/virtual_regexp"}) {
		t.Errorf("virtual_alias_maps line %d: %+v", v.Line, tables)
	}
	if rt := Tables(cf["smtpd_recipient_restrictions"].Value); len(rt) != 2 || rt[0].Path != "/etc/postfix/sender_access" || rt[1].Path != "/etc/postfix/recipient_access" {
		t.Errorf("restrictions tables: %+v", rt)
	}
	if got := LocalPath("/etc/postfix/virtual", "", "/tmp/copy"); got != "/tmp/copy/virtual" {
		t.Errorf("LocalPath: %s", got)
	}
	if got := LocalPath("/etc/aliases", "", "/tmp/copy"); got != "/etc/aliases" {
		t.Errorf("LocalPath outside config_directory: %s", got)
	}
	notes := strings.Join(PostfixUntranslated(cf), "\n")
	if !strings.Contains(notes, "main.cf:43: content_filter") {
		t.Errorf("untranslated notes lack content_filter:\n%s", notes)
	}
	for _, translated := range []string{"header_checks", "mynetworks", "relayhost", "alias_maps"} {
		if strings.Contains(notes, translated) {
			t.Errorf("%s, which is translated, is reported:\n%s", translated, notes)
		}
	}
}

func TestParseAliasTable(t *testing.T) {
	f, err := os.Open("testdata/postfix/virtual")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, bad, err := ParseAliasTable(f)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entries {
		got[e.Key] = strings.Join(e.Targets, " ")
	}
	want := map[string]string{"info@example.org": "alice@example.org", "sales@example.org": "alice@example.org bob@example.org",
		"team@example.org": "alice@example.org carol@example.org", "@example.net": "alice@example.org",
		"forward@example.org": "someone@elsewhere.example", "example.com": "anything"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(bad) != 1 || bad[0].Line != 9 {
		t.Errorf("bad: %+v", bad)
	}
	if _, bad, _ := ParseAliasTable(strings.NewReader("  orphan\nkey\n  target@x\n")); len(bad) != 1 || bad[0].Line != 1 {
		t.Errorf("continuations: %+v", bad)
	}
}

func FuzzParsePostfix(f *testing.F) {
	for _, p := range []string{"testdata/postfix/main.cf", "testdata/postfix/virtual", "testdata/postfix/header_checks",
		"testdata/postfix/sender_access", "testdata/postfix/aliases", "testdata/postfix/client_access.cidr"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		cf, _, _ := ParseMainCF(strings.NewReader(in))
		for name, s := range cf {
			if name == "" || s.Line < 1 {
				t.Fatalf("%q %+v", name, s)
			}
		}
		entries, _, _ := ParseAliasTable(strings.NewReader(in))
		for _, e := range entries {
			if e.Key == "" || len(e.Targets) == 0 {
				t.Fatalf("%+v", e)
			}
		}
		local, _, _ := ParseAliases(strings.NewReader(in))
		for _, e := range local {
			if e.Key == "" || len(e.Targets) == 0 {
				t.Fatalf("%+v", e)
			}
		}
		access, _, _ := ParseAccessTable(strings.NewReader(in))
		for _, e := range access {
			parseAction(e.Action, false)
			clientPrefix(e.Key)
		}
		res, _, _ := ParseRegexpTable(strings.NewReader(in))
		for _, e := range res {
			if re, err := compilePostfixRegexp(e, true); err == nil {
				if ex, ok := exampleMatch(re); ok && !re.MatchString(ex) {
					t.Fatalf("%s: example %q does not match", re, ex)
				}
			}
			parseAction(e.Action, true)
		}
	})
}
