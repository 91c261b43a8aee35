package spf_test

import (
	"errors"
	"testing"

	"github.com/sluicemail/sluice/stages/spf"
)

func TestCheckRecord(t *testing.T) {
	valid := []string{
		"v=spf1",
		"v=spf1 -all",
		"V=SPF1  +a  mx/24//64 ~all ",
		"v=spf1 a:foo:bar/baz.example.com",
		"v=spf1 exists:%{ir}.%{l1r+-}.%{d}.example.com.",
		"v=spf1 include:%{d} ptr ptr:example.org ?all",
		"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ip6:::1",
		"v=spf1 redirect=_spf.example.com exp=explain.%{d}",
		"v=spf1 moo.cow-far_out=man:dog/cat ra=%%%_%-",
	}
	invalid := []string{
		"v=spf1 -all foo",                // unknown mechanism
		"v=spf1 ip4:1.2.3.4/33",          // prefix too long
		"v=spf1 ip4:1.2.3.4/032",         // leading zero
		"v=spf1 ip6:1.2.3.4",             // v4 in ip6
		"v=spf1 ip6",                     // no address
		"v=spf1 a:museum",                // only a top label
		"v=spf1 a:foo.example.123",       // numeric top label
		"v=spf1 a:foo.-example",          // top label starting with a dash
		"v=spf1 a:example.com:8080",      // ':' in the top label
		"v=spf1 exists:%{c}.example.com", // c only in exp text
		"v=spf1 exists:%(ir).example.com",
		"v=spf1 exists:foo%.example.com",
		"v=spf1 redirect=a.example redirect=b.example",
		"v=spf1 exp=a.example exp=b.example",
		"v=spf1 redirect:a.example", // redirect is a modifier
		"v=spf1 =bar",               // empty modifier name
		"v=spf1 -all \x80",          // non-ASCII
		"v=spf1 include",
		"v=spf1 all:x",
	}
	for _, r := range valid {
		if err := spf.CheckRecord(r); err != nil {
			t.Errorf("%q rejected: %v", r, err)
		}
	}
	for _, r := range invalid {
		if err := spf.CheckRecord(r); !errors.Is(err, spf.ErrSyntax) {
			t.Errorf("%q accepted (%v)", r, err)
		}
	}
}
