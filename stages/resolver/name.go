package resolver

import (
	"strings"

	"github.com/miekg/dns"
)

// canonicalName returns name as a lower-case FQDN in the presentation form
// miekg/dns gives names it decodes from the wire (a space as "\ ", other
// special bytes escaped), so that the names we ask, the names a server
// echoes and the names of zone data compare equal. It reports false for a
// name that cannot be encoded in a DNS message: an empty label, a label
// over 63 octets or a name over 255 octets (RFC 1035 section 2.3.4). Such
// a name cannot exist, so the resolvers answer NXDomain for it without
// asking (which RFC 7208 section 4.3 also expects: result "none").
func canonicalName(name string) (string, bool) {
	if isPlainName(name) {
		n := dns.CanonicalName(name)
		return n, validPlain(n)
	}
	buf := make([]byte, 256+len(name))
	off, err := dns.PackDomainName(dns.Fqdn(name), buf, 0, nil, false)
	if err != nil {
		return "", false
	}
	s, _, err := dns.UnpackDomainName(buf[:off], 0)
	if err != nil {
		return "", false
	}
	return strings.ToLower(s), true
}

// isPlainName reports whether name holds only letters, digits, '-', '_'
// and dots, which need no escaping.
func isPlainName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// validPlain checks the label and name lengths of a plain FQDN.
func validPlain(fqdn string) bool {
	if fqdn == "." {
		return true
	}
	if len(fqdn) > 254 || strings.HasPrefix(fqdn, ".") {
		return false
	}
	start := 0
	for i := 0; i < len(fqdn); i++ {
		if fqdn[i] != '.' {
			continue
		}
		if l := i - start; l == 0 || l > 63 {
			return false
		}
		start = i + 1
	}
	return true
}
