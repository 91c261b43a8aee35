package rules

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/engine/source"
)

// derived is what Derive must find in a fixture message.
type derived struct {
	ip, helo, format, rcpt, from string
}

// formatsWant is, per message of testdata/received/formats.mbox (by
// Subject), the envelope the receiving server saw.
var formatsWant = map[string]derived{
	"postfix, public client over TLS":                      {"192.0.2.10", "mail.example.org", "postfix", "bob@example.net", "alice@example.org"},
	"postfix, LAN client without reverse DNS":              {"10.1.2.3", "laptop.lan", "postfix", "bob@example.net", "scanner@office.lan"},
	"exim, verified name, HELO differs":                    {"192.0.2.20", "smtp.example.org", "exim", "bob@example.net", "carol@example.org"},
	"exim, LAN client without reverse DNS, no Return-Path": {"10.20.30.40", "printer.office.lan", "exim", "bob@example.net", "printer@office.lan"},
	"sendmail, public client":                              {"198.51.100.5", "relay.example.com", "sendmail", "bob@example.net", "erin@example.com"},
	"sendmail, IPv6 client, name may be forged":            {"2001:db8::25", "helo.example.com", "sendmail", "bob@example.net", "frank@example.com"},
	"dovecot lmtp on top of postfix":                       {"203.0.113.7", "mail.example.org", "postfix", "bob@example.net", "grace@example.org"},
	"Hello":                                                {"111.111.11.111", "mail.emailprovider.com", "gmail", "mrsmith@gmail.com", "MrJones@emailprovider.com"},
	"gmail, public client over TLS":                        {"192.0.2.30", "mail.example.org", "gmail", "bob@gmail.com", "heidi@example.org"},
	"sluice, loopback client":                              {"127.0.0.1", "client.example.net", "sluice", "bob@example.net", "ivan@example.net"},
	"sluice, public client with reverse DNS":               {"192.0.2.50", "smtp.example.org", "sluice", "bob@example.net", "judy@example.org"},
}

func TestDeriveFormats(t *testing.T) {
	seen := 0
	err := source.Walk([]string{"testdata/received/formats.mbox"}, func(it source.Item) error {
		if it.Err != nil {
			t.Fatal(it.Err)
		}
		m := engine.NewMessage(engine.Envelope{}, it.Raw)
		subject := m.Header().Get("Subject")
		want, ok := formatsWant[subject]
		if !ok {
			t.Errorf("%s: no expectation for %q", it.Path, subject)
			return nil
		}
		seen++
		d := Derive(m, DeriveOptions{})
		env := d.Envelope
		if env.IP.String() != want.ip || env.HELO != want.helo || env.MailFrom != want.from ||
			len(env.Rcpt) != 1 || env.Rcpt[0] != want.rcpt {
			t.Errorf("%q: derived ip=%s helo=%q from=%q rcpt=%v\nwant ip=%s helo=%q from=%q rcpt=%s",
				subject, env.IP, env.HELO, env.MailFrom, env.Rcpt, want.ip, want.helo, want.from, want.rcpt)
		}
		if src := d.Sources["conn.ip"]; !strings.Contains(src, "("+want.format+" layout)") {
			t.Errorf("%q: conn.ip source %q, want the %s layout", subject, src, want.format)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(formatsWant) {
		t.Errorf("%d messages checked, want %d", seen, len(formatsWant))
	}
}

// TestDeriveTrustedHops: a content filter on loopback adds two hops above
// the MX's own; without help the derived client is the filter, with two
// trusted hops or loopback as a trusted network it is the real client.
func TestDeriveTrustedHops(t *testing.T) {
	var m *engine.Message
	source.Walk([]string{"testdata/received/amavis.eml"}, func(it source.Item) error {
		m = engine.NewMessage(engine.Envelope{}, it.Raw)
		return it.Err
	})
	if m == nil {
		t.Fatal("fixture not read")
	}
	loop := netip.MustParsePrefix("127.0.0.0/8")
	for _, tc := range []struct {
		opts DeriveOptions
		ip   string
		helo string
	}{
		{DeriveOptions{}, "127.0.0.1", "localhost"},
		{DeriveOptions{TrustedHops: 1}, "127.0.0.1", "mx.example.net"},
		{DeriveOptions{TrustedHops: 2}, "198.51.100.77", "relay.example.com"},
		{DeriveOptions{TrustedNets: []netip.Prefix{loop}}, "198.51.100.77", "relay.example.com"},
		{DeriveOptions{TrustedHops: 3}, "invalid IP", ""},
	} {
		env := Derive(m, tc.opts).Envelope
		if env.IP.String() != tc.ip || env.HELO != tc.helo {
			t.Errorf("%+v: ip=%s helo=%q, want %s %q", tc.opts, env.IP, env.HELO, tc.ip, tc.helo)
		}
	}
}

func TestParseReceived(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want Received
	}{
		{"by 10.36.81.3 with SMTP id e3cs239nzb; Tue, 29 Mar 2005 15:11:47 -0800", false, Received{}},
		{"(from user@localhost) by host.example (8.17.1/8.17.1/Submit) id x", false, Received{}},
		{"from [IPv6:2001:db8::1] (port=1 helo=[IPv6:2001:db8::1]) by h with esmtp (Exim 4.96) id x", true,
			Received{HELO: "IPv6:2001:db8::1", IP: netip.MustParseAddr("2001:db8::1"), By: "h", With: "esmtp", Format: "exim"}},
		{"from a.example (b.example [::ffff:192.0.2.1]) by c.example with ESMTP; date", true,
			Received{HELO: "a.example", IP: netip.MustParseAddr("192.0.2.1"), By: "c.example", With: "ESMTP", Format: "rfc5321"}},
		{"from a.example (unknown [not-an-ip]) by c.example; date", true,
			Received{HELO: "a.example", By: "c.example", Format: "rfc5321"}},
		{"from x (y [192.0.2.9] (nested (deeper)) by z", true,
			Received{HELO: "x", IP: netip.MustParseAddr("192.0.2.9"), Format: "rfc5321"}},
	} {
		got, ok := ParseReceived(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseReceived(%q) = %+v, %v\nwant %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParseReceived: any field parses without a panic, and what it
// returns is consistent: an address only with a from clause, no spaces in
// the names.
func FuzzParseReceived(f *testing.F) {
	for _, s := range []string{
		"from mail.example.org (mail.example.org [192.0.2.10])\r\n\tby mx.example.net (Postfix) with ESMTPS id 4T\r\n\tfor <bob@example.net>; Mon, 1 Jan 2024",
		"from [10.20.30.40] (port=52344 helo=printer.office.lan)\n\tby mx with esmtp (Exim 4.96)\n\t(envelope-from <p@o.lan>)\n\tid 1r\n\tfor bob@example.net; date",
		"from helo.example.com (host.example.com [IPv6:2001:db8::25] (may be forged)) by mx (8.17.1/8.17.1) with ESMTP id x for <b@e>; d",
		"from mx.example.net ([10.0.0.25]) by imap with LMTP id 8C for <b@e>; d",
		"by 10.36.81.3 with SMTP id e3; d", "from", "from (", "((((", "from x ([", "from x (y [1.2.3.4",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, ok := ParseReceived(s)
		if !ok && r != (Received{}) {
			t.Fatalf("not ok but %+v", r)
		}
		if r.IP.Is4In6() {
			t.Fatalf("mapped address %s kept", r.IP)
		}
	})
}
