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
	if rt := Tables(cf["smtpd_recipient_restrictions"].Value); len(rt) != 1 || rt[0].Path != "/etc/postfix/sender_access" {
		t.Errorf("restrictions tables: %+v", rt)
	}
	if got := LocalPath("/etc/postfix/virtual", "", "/tmp/copy"); got != "/tmp/copy/virtual" {
		t.Errorf("LocalPath: %s", got)
	}
	if got := LocalPath("/etc/aliases", "", "/tmp/copy"); got != "/etc/aliases" {
		t.Errorf("LocalPath outside config_directory: %s", got)
	}
	notes := strings.Join(PostfixUntranslated(cf), "\n")
	for _, want := range []string{"main.cf:14: alias_maps", "main.cf:19: mynetworks", "main.cf:21: message_size_limit", "main.cf:33: header_checks", "main.cf:31: smtpd_recipient_restrictions"} {
		if !strings.Contains(notes, want) {
			t.Errorf("untranslated notes lack %q:\n%s", want, notes)
		}
	}
	if strings.Contains(notes, "relayhost") {
		t.Error("an empty relayhost is reported")
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
	for _, p := range []string{"testdata/postfix/main.cf", "testdata/postfix/virtual"} {
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
	})
}
