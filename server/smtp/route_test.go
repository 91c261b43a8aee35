package smtp

import (
	"fmt"
	"testing"

	"github.com/sluicemail/sluice/server/auth"
	"golang.org/x/crypto/bcrypt"
)

func TestRouter(t *testing.T) {
	auth.HashCost = bcrypt.MinCost
	accounts, err := auth.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice@example.net", "bob@example.net"} {
		if err := accounts.AddUser(u, "password1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := accounts.SetAlias("team@example.net", []string{"alice@example.net", "bob@example.net", "friend@remote.example"}); err != nil {
		t.Fatal(err)
	}
	r := Router{Domains: []string{"Example.NET."}, Accounts: accounts}
	for _, c := range []struct {
		addr string
		want string // the recipients, or "none"
	}{
		{"alice@example.net", "[alice@example.net local INBOX]"},
		{"ALICE+lists@EXAMPLE.net", "[alice@example.net local INBOX]"},
		{"team@example.net", "[alice@example.net local INBOX] [bob@example.net local INBOX] [friend@remote.example relay]"},
		{"someone@remote.example", "[someone@remote.example relay]"},
		{"ghost@example.net", "none"},
		{"postmaster@example.net", "[alice@example.net local INBOX]"}, // RFC 5321 4.5.1: the domain's first account
		{"no-at-sign", "none"},
	} {
		got, ok := r.Route(c.addr)
		s := "none"
		if ok {
			s = ""
			for i, rc := range got {
				if i > 0 {
					s += " "
				}
				if rc.Local {
					s += fmt.Sprintf("[%s local %s]", rc.User, rc.Mailbox)
				} else {
					s += fmt.Sprintf("[%s relay]", rc.Addr)
				}
			}
		}
		if s != c.want {
			t.Errorf("Route(%q) = %s, want %s", c.addr, s, c.want)
		}
	}
}
