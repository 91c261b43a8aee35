package store

import (
	"errors"
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	good := map[string]string{
		"INBOX":        "INBOX",
		"inbox":        "INBOX",
		"Inbox.Sub":    "INBOX.Sub",
		"Sent":         "Sent",
		"Parent.Child": "Parent.Child",
		"Entwürfe":     "Entwürfe",
		"a&b":          "a&b",
		"日本語.メール":      "日本語.メール",
		"with space":   "with space",
		"~tilde":       "~tilde",
		"INBOXish":     "INBOXish",
	}
	for in, want := range good {
		got, err := CleanName(in)
		if err != nil || got != want {
			t.Errorf("CleanName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"", ".", "..", "../x", "a/../../b", "/etc", "a/b", `a\b`, "a..b", ".hidden",
		"trailing.", "x\x00y", "tab\there", "new\nline", "star*", "per%cent",
		"\xff\xfe", "a\u202eb", "a\u200bb", strings.Repeat("x", 300),
	}
	for _, in := range bad {
		if got, err := CleanName(in); !errors.Is(err, ErrBadName) {
			t.Errorf("CleanName(%q) = %q, %v; want ErrBadName", in, got, err)
		}
	}
}

func TestFolderDir(t *testing.T) {
	cases := map[string]string{
		"INBOX":        "",
		"Sent":         ".Sent",
		"Parent.Child": ".Parent.Child",
		"Entwürfe":     ".Entw&APw-rfe",
		"a&b":          ".a&-b",
		"日本語":          ".&ZeVnLIqe-",
	}
	for name, want := range cases {
		if got := folderDir(name); got != want {
			t.Errorf("folderDir(%q) = %q, want %q", name, got, want)
		}
		if name == "INBOX" {
			continue
		}
		back, ok := nameOfDir(want)
		if !ok || back != name {
			t.Errorf("nameOfDir(%q) = %q, %v; want %q", want, back, ok, name)
		}
	}
	for _, entry := range []string{".", "..", "cur", ".a..b", ".&AGE-", ".&APw", ".&APw-&APw-", ".x/y", ".&AC8-etc", ".&AC4ALg-"} {
		if name, ok := nameOfDir(entry); ok {
			t.Errorf("nameOfDir(%q) = %q, want rejected", entry, name)
		}
	}
}

func TestUserPath(t *testing.T) {
	good := map[string]string{
		"alice@example.org":       "example.org/alice",
		"Bob.Smith@Example.ORG":   "example.org/bob.smith",
		"x+tag@mail.example.com":  "mail.example.com/x+tag",
		"user@bücher.example":     "bücher.example/user",
		"weird@local@example.org": "example.org/weird@local",
	}
	for in, want := range good {
		if got, err := userPath(in); err != nil || got != want {
			t.Errorf("userPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"", "alice", "@example.org", "alice@", "../x@example.org", "..@example.org",
		".@example.org", "a/b@example.org", `a\b@example.org`, "alice@../x",
		"alice@example.org/..", "alice@..", "alice@.example.org", "alice@example..org",
		"alice@[127.0.0.1]", "al\x00ice@example.org", "alice@exa mple.org",
	}
	for _, in := range bad {
		if got, err := userPath(in); !errors.Is(err, ErrBadUser) {
			t.Errorf("userPath(%q) = %q, %v; want ErrBadUser", in, got, err)
		}
	}
}

func TestUTF7(t *testing.T) {
	cases := map[string]string{
		"":                   "",
		"abc":                "abc",
		"&":                  "&-",
		"ü":                  "&APw-",
		"Entwürfe":           "Entw&APw-rfe",
		"日本語":                "&ZeVnLIqe-",
		"a😀b":                "a&2D3eAA-b",
		"~peter/mail/台北/日本語": "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
	}
	for dec, enc := range cases {
		if got := encodeUTF7(dec); got != enc {
			t.Errorf("encodeUTF7(%q) = %q, want %q", dec, got, enc)
		}
		if got, err := decodeUTF7(enc); err != nil || got != dec {
			t.Errorf("decodeUTF7(%q) = %q, %v; want %q", enc, got, err, dec)
		}
	}
	for _, bad := range []string{"&", "&APw", "&AGE-", "&APw-&APw-", "&APw=-", "ü", "\x01", "&2D0-"} {
		if got, err := decodeUTF7(bad); err == nil {
			t.Errorf("decodeUTF7(%q) = %q, want error", bad, got)
		}
	}
}

func TestSplitName(t *testing.T) {
	cases := []struct{ name, base, flags string }{
		{"1.M2P3Q4.host,S=10", "1.M2P3Q4.host,S=10", ""},
		{"1.M2P3Q4.host,S=10:2,FS", "1.M2P3Q4.host,S=10", "FS"},
		{"1.M2P3Q4.host,S=10:2,", "1.M2P3Q4.host,S=10", ""},
		{"a:2,b:2,RS", "a:2,b", "RS"},
		{"x:1,foo", "x:1,foo", ""},
	}
	for _, c := range cases {
		base, flags, _ := splitName(c.name)
		if base != c.base || flags != c.flags {
			t.Errorf("splitName(%q) = %q, %q; want %q, %q", c.name, base, flags, c.base, c.flags)
		}
	}
	if got := CleanFlags("TSSa:F1R"); got != "FRSTa" {
		t.Errorf("CleanFlags = %q", got)
	}
	if sizeOfBase("1.M2P3Q4.host,S=1234,W=1300") != 1234 || sizeOfBase("1.x.host") != -1 {
		t.Error("sizeOfBase")
	}
}
