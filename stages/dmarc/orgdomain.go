package dmarc

import (
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// OrgDomain returns the Organizational Domain of a domain (RFC 7489
// section 3.2): its public suffix, by the Public Suffix List built into
// golang.org/x/net/publicsuffix, plus one label. The result is lower-case;
// a name in Unicode (U-labels) gets its answer in Unicode. It returns ""
// when there is none: the name is itself a public suffix, or not a valid
// domain name (empty label, leading dot).
func OrgDomain(domain string) string {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	ascii, err := idna.Lookup.ToASCII(d)
	if err != nil || ascii == "" {
		return ""
	}
	org, err := publicsuffix.EffectiveTLDPlusOne(ascii)
	if err != nil {
		return ""
	}
	if ascii != d {
		if u, err := idna.Lookup.ToUnicode(org); err == nil {
			return u
		}
	}
	return org
}

// orgOrSelf is OrgDomain, or the domain itself when it has none: a public
// suffix used as an identifier is only aligned with itself.
func orgOrSelf(domain string) string {
	if o := OrgDomain(domain); o != "" {
		return o
	}
	return strings.ToLower(strings.TrimSuffix(domain, "."))
}

// aligned reports whether two domains are aligned (RFC 7489 section 3.1):
// equal, or in relaxed mode with the same Organizational Domain. Names are
// compared in their A-label form, so "bücher.example" and
// "xn--bcher-kva.example" are the same domain.
func aligned(a, b string, strict bool) bool {
	a, b = asciiDomain(a), asciiDomain(b)
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	return !strict && orgOrSelf(a) == orgOrSelf(b)
}

// asciiDomain is the lower-case A-label form of a domain, without a
// trailing dot; a name IDNA rejects is only lower-cased.
func asciiDomain(d string) string {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	if a, err := idna.Lookup.ToASCII(d); err == nil {
		return a
	}
	return d
}
