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
