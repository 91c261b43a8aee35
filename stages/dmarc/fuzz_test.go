package dmarc

import (
	"testing"
)

// FuzzParse: any TXT string parses to a record with a valid policy, or to
// ErrNotDMARC / ErrInvalid; never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"v=DMARC1; p=none",
		"v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=s; pct=50; fo=1:d; rf=afrf; ri=3600; rua=mailto:a@example.com!10m,mailto:b@example.net; ruf=mailto:c@example.com",
		"v = DMARC1 ;\tP = Reject ;",
		"v=DMARC1; p=bogus; rua=mailto:x@y",
		"v=DMARC1; rua=!",
		"p=reject; v=DMARC1",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, txt string) {
		rec, err := Parse(txt)
		if err != nil {
			return
		}
		if _, ok := policy(string(rec.Policy)); !ok {
			t.Fatalf("%q: policy %q", txt, rec.Policy)
		}
		if rec.SubdomainPolicy != "" {
			if _, ok := policy(string(rec.SubdomainPolicy)); !ok {
				t.Fatalf("%q: sp %q", txt, rec.SubdomainPolicy)
			}
		}
		if rec.Percent != nil && (*rec.Percent < 0 || *rec.Percent > 100) {
			t.Fatalf("%q: pct %d", txt, *rec.Percent)
		}
	})
}

// FuzzOrgDomain: never panics, and an Organizational Domain is its own.
func FuzzOrgDomain(f *testing.F) {
	for _, s := range []string{"www.example.co.uk", "EXAMPLE.com.", "食狮.com.cn", ".com", "a..b", "xn--85x722f.xn--55qx5d.cn"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, d string) {
		if o := OrgDomain(d); o != "" && OrgDomain(o) != o {
			t.Fatalf("OrgDomain(%q) = %q, whose own is %q", d, o, OrgDomain(o))
		}
	})
}
