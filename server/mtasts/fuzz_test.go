package mtasts

import "testing"

// The policy file and the TXT record come from strangers' servers.
func FuzzParsePolicy(f *testing.F) {
	f.Add("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n")
	f.Add("version: STSv1\nmode: none\nmax_age: 1\n")
	f.Add("mx: :\n\x00")
	f.Fuzz(func(t *testing.T, text string) {
		p, err := ParsePolicy(text)
		if err != nil {
			return
		}
		// What parses writes out and parses again to the same policy.
		q, err := ParsePolicy(p.String())
		if err != nil || q.Mode != p.Mode || len(q.MX) != len(p.MX) || q.MaxAge != p.MaxAge {
			t.Fatalf("round trip of %q: %+v %v", text, q, err)
		}
		p.MatchMX("mx.example.com")
	})
}

func FuzzParseRecord(f *testing.F) {
	f.Add("v=STSv1; id=20160831085700Z;")
	f.Add("v=STSv1;;;id=;")
	f.Fuzz(func(t *testing.T, txt string) {
		r, err := ParseRecord(txt)
		if err == nil && !validID(r.ID) {
			t.Fatalf("%q gave id %q", txt, r.ID)
		}
	})
}
