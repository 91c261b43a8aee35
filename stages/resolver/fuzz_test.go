package resolver

import (
	"testing"

	"github.com/miekg/dns"
)

// FuzzInterpret feeds arbitrary DNS responses to the code that reads them:
// broken answers must give an error or an answer, never a panic.
func FuzzInterpret(f *testing.F) {
	q := new(dns.Msg)
	q.SetQuestion("example.org.", dns.TypeA)
	seed := func(m *dns.Msg) {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	r := new(dns.Msg)
	r.SetReply(q)
	r.Answer = append(r.Answer,
		mustRR(f, "example.org. 60 IN CNAME a.example.org."),
		mustRR(f, "a.example.org. 30 IN A 192.0.2.1"))
	seed(r)
	nx := new(dns.Msg)
	nx.SetRcode(q, dns.RcodeNameError)
	nx.Ns = append(nx.Ns, mustRR(f, "example.org. 3600 IN SOA ns. h. 1 1 1 1 60"))
	seed(nx)
	loop := new(dns.Msg)
	loop.SetReply(q)
	loop.Answer = append(loop.Answer, mustRR(f, "example.org. 60 IN CNAME example.org."))
	seed(loop)
	f.Fuzz(func(t *testing.T, data []byte) {
		m := new(dns.Msg)
		if m.Unpack(data) != nil {
			return
		}
		a, err := interpret(q, m, "fuzz")
		if (a == nil) == (err == nil) {
			t.Fatalf("answer %v and error %v", a, err)
		}
		if a != nil && a.Status == Success && len(a.Records) == 0 {
			t.Fatal("success without records")
		}
	})
}

func mustRR(f *testing.F, s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil {
		f.Fatal(err)
	}
	return rr
}

// FuzzTXTEscape checks that EscapeTXT and UnescapeTXT are inverses and that
// the escaped form packs to the raw bytes on the wire.
func FuzzTXTEscape(f *testing.F) {
	for _, s := range []string{"v=spf1 -all", "a\"b\\c", "\xef\xbb\xbf\x00\x80", "\\065", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		esc := EscapeTXT(raw)
		if got := UnescapeTXT(esc); got != raw {
			t.Fatalf("round trip %q -> %q -> %q", raw, esc, got)
		}
		_ = UnescapeTXT(raw) // arbitrary presentation text must not panic
		if len(raw) > 255 {
			return
		}
		m := new(dns.Msg)
		m.SetQuestion("t.", dns.TypeTXT)
		m.Answer = append(m.Answer, NewTXT("t.", 60, raw))
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		var back dns.Msg
		if err := back.Unpack(b); err != nil {
			t.Fatal(err)
		}
		if got := UnescapeTXT(back.Answer[0].(*dns.TXT).Txt[0]); got != raw {
			t.Fatalf("wire round trip %q -> %q", raw, got)
		}
	})
}

// FuzzCanonicalName: any name gives a canonical form or is refused, and the
// canonical form is a fixed point that packs into a message.
func FuzzCanonicalName(f *testing.F) {
	for _, s := range []string{"example.org", "Example.ORG.", "a..b", "macro%percent  space.example.com", "\\065.example", ".", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		c, ok := canonicalName(name)
		if !ok {
			return
		}
		c2, ok2 := canonicalName(c)
		if !ok2 || c2 != c {
			t.Fatalf("%q -> %q -> %q %v", name, c, c2, ok2)
		}
		m := new(dns.Msg)
		m.SetQuestion(c, dns.TypeA)
		if _, err := m.Pack(); err != nil {
			t.Fatalf("%q -> %q does not pack: %v", name, c, err)
		}
	})
}
