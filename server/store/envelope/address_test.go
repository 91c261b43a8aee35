package envelope

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func show(l []imap.Address) string {
	var parts []string
	for _, a := range l {
		parts = append(parts, fmt.Sprintf("(%q %q %q %q)", a.Name, a.Route, a.Mailbox, a.Host))
	}
	return strings.Join(parts, "")
}

func TestParseAddressList(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"user@domain", `("" "" "user" "domain")`},
		{"Real Name <user@domain>", `("Real Name" "" "user" "domain")`},
		{`"Doe, John" <john.doe@example.org>`, `("Doe, John" "" "john.doe" "example.org")`},
		{"user@domain (Real Name)", `("Real Name" "" "user" "domain")`},
		{"<user-from (comment)@ (comment) domain.org>", `("" "" "user-from" "domain.org")`},
		{"<@route:user@domain>", `("" "@route" "user" "domain")`},
		{"Someone <@a.example, @b.example:user@domain>", `("Someone" "@a.example,@b.example" "user" "domain")`},
		{"group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;",
			`("" "" "group" "")("" "" "g1" "d1.org")("" "" "g2" "d2.org")("" "" "" "")("" "" "group2" "")("" "" "g3" "d3.org")("" "" "" "")`},
		{"group:;, group2: (foo) ;", `("" "" "group" "")("" "" "" "")("" "" "group2" "")("" "" "" "")`},
		{"undisclosed-recipients:;", `("" "" "undisclosed-recipients" "")("" "" "" "")`},
		{"a@b, broken <<>, c@d", `("" "" "a" "b")("" "" "c" "d")`},
		{"=?utf-8?q?J=C3=B6rg?= <j@example.org>", `("Jörg" "" "j" "example.org")`},
		{`"quoted local"@example.org`, `("" "" "quoted local" "example.org")`},
		{"<>", ``},
		{"", ``},
		{"user", `("" "" "user" "MISSING_DOMAIN")`},
		{"a@[192.0.2.1]", `("" "" "a" "[192.0.2.1]")`},
	} {
		if got := show(ParseAddressList(c.in)); got != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

// FuzzParseAddressList: any header value parses without panicking or
// looping, and every group start has its end.
func FuzzParseAddressList(f *testing.F) {
	for _, s := range []string{"a@b", "A <a@b>", "g: a@b, c@d;", "<@r:a@b>", `"x\" y" (c (n)) <a@b>`, "a@b (c", "g:", ":;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		open := 0
		for _, a := range ParseAddressList(s) {
			switch {
			case a.IsGroupStart():
				open++
			case a.IsGroupEnd():
				open--
			}
		}
		if open != 0 {
			t.Errorf("%q: unbalanced groups", s)
		}
	})
}
