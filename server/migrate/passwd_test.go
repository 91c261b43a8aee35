package migrate

import (
	"os"
	"strings"
	"testing"
)

func TestParsePasswdFixture(t *testing.T) {
	f, err := os.Open("testdata/passwd")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, bad, err := ParsePasswd(f, PasswdOptions{Domain: "Example.ORG"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]PasswdEntry{}
	for _, e := range entries {
		got[e.Address] = e
	}
	want := map[string]string{ // address -> scheme prefix of the stored hash
		"alice@example.org": "{BLF-CRYPT}$2y$", "bob@example.org": "{SHA512-CRYPT}$6$",
		"carol@example.org": "{ARGON2ID}$argon2id$", "dave@example.org": "{SSHA512}",
		"erin@example.org": "{CRYPT}$1$", "frank@example.org": "{CRAM-MD5}",
		"grace@example.org": "{SHA256-CRYPT}$5$", "heidi@example.org": "{PLAIN}pw-heidi",
	}
	if len(entries) != len(want) {
		t.Errorf("%d entries, want %d: %+v", len(entries), len(want), entries)
	}
	for addr, prefix := range want {
		if !strings.HasPrefix(got[addr].Hash, prefix) {
			t.Errorf("%s: hash %q, want prefix %q", addr, got[addr].Hash, prefix)
		}
	}
	if got["grace@example.org"].Disabled == "" || got["alice@example.org"].Disabled != "" {
		t.Errorf("nologin: grace %q, alice %q", got["grace@example.org"].Disabled, got["alice@example.org"].Disabled)
	}
	if strings.Contains(got["alice@example.org"].Hash, ":") {
		t.Errorf("alice's hash took other fields: %q", got["alice@example.org"].Hash)
	}
	if len(bad) != 1 || bad[0].Line != 12 || !strings.Contains(bad[0].Err, "no ':'") {
		t.Errorf("bad lines: %+v", bad)
	}
}

func TestParsePasswdLines(t *testing.T) {
	for _, c := range []struct {
		in, addr, hash, disabled, err string
		opt                           PasswdOptions
	}{
		{in: "u@d:{PLAIN}x", addr: "u@d", hash: "{PLAIN}x"},
		{in: "u:{PLAIN}x", err: "no domain"},
		{in: "u:{PLAIN}x", opt: PasswdOptions{Domain: "d.example"}, addr: "u@d.example", hash: "{PLAIN}x"},
		{in: "u@d:secret", opt: PasswdOptions{DefaultScheme: "plain"}, addr: "u@d", hash: "{PLAIN}secret"},
		{in: "u@d:", addr: "u@d", disabled: "no password"},
		{in: "u@d:{PLAIN}x:1:1::/h::nopassword", addr: "u@d", hash: "{PLAIN}x", disabled: "nopassword"},
		{in: "u@d:{PLAINx", err: "not closed"},
		{in: " u@d:{PLAIN}x", err: "spaces"},
		{in: ":{PLAIN}x", err: "empty"},
		{in: "@d:{PLAIN}x", err: "not user@domain"},
		{in: "u@d@e:{PLAIN}x", err: "not user@domain"},
		{in: "u@d:{PLAIN}\xff", err: "UTF-8"},
		{in: "u@d:{PLAIN}x\r", addr: "u@d", hash: "{PLAIN}x"},
	} {
		entries, bad, err := ParsePasswd(strings.NewReader(c.in+"\n"), c.opt)
		if err != nil {
			t.Fatal(err)
		}
		if c.err != "" {
			if len(bad) != 1 || !strings.Contains(bad[0].Err, c.err) || len(entries) != 0 {
				t.Errorf("%q: bad %+v entries %+v, want error %q", c.in, bad, entries, c.err)
			}
			continue
		}
		if len(entries) != 1 || entries[0].Address != c.addr || !strings.HasPrefix(entries[0].Hash, c.hash) ||
			!strings.Contains(entries[0].Disabled, c.disabled) || (c.disabled == "") != (entries[0].Disabled == "") {
			t.Errorf("%q: %+v %+v", c.in, entries, bad)
		}
	}
}

func TestParsePasswdDuplicateAndLongLine(t *testing.T) {
	in := "a@d:{PLAIN}1\nA@D:{PLAIN}2\nb@d:{PLAIN}3\n"
	entries, bad, err := ParsePasswd(strings.NewReader(in), PasswdOptions{})
	if err != nil || len(entries) != 2 || len(bad) != 1 || bad[0].Line != 2 || !strings.Contains(bad[0].Err, "line 1") {
		t.Errorf("duplicate: %+v %+v %v", entries, bad, err)
	}
	long := "a@d:{PLAIN}1\n" + strings.Repeat("x", maxLine+10) + "\n"
	entries, _, err = ParsePasswd(strings.NewReader(long), PasswdOptions{})
	if err == nil || len(entries) != 1 {
		t.Errorf("overlong line: %+v %v", entries, err)
	}
}

func FuzzParsePasswd(f *testing.F) {
	if data, err := os.ReadFile("testdata/passwd"); err == nil {
		f.Add(string(data))
	}
	f.Add("u:{PLAIN}x:1:2::/h::nologin\n# c\n\nv@d:$6$a$b")
	f.Fuzz(func(t *testing.T, in string) {
		entries, bad, _ := ParsePasswd(strings.NewReader(in), PasswdOptions{Domain: "d.example"})
		for _, e := range entries {
			if !strings.Contains(e.Address, "@") || (e.Hash == "" && e.Disabled == "") || e.Line < 1 {
				t.Errorf("entry %+v", e)
			}
		}
		for _, b := range bad {
			if b.Line < 1 || b.Err == "" {
				t.Errorf("bad %+v", b)
			}
		}
	})
}
