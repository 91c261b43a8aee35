package resolver

import (
	"strings"

	"github.com/miekg/dns"
)

// miekg/dns keeps TXT character-strings in presentation form (RFC 1035
// section 5.1): a quote or backslash is escaped as \" or \\, a byte outside
// printable ASCII as \DDD. Both the zone parser and the wire decoder produce
// that form, so LookupTXT turns it back into raw bytes, which is what SPF,
// DKIM and DMARC parse.

// UnescapeTXT returns the raw bytes of a character-string in presentation
// form.
func UnescapeTXT(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		if i+2 < len(s) && isDigit(s[i]) && isDigit(s[i+1]) && isDigit(s[i+2]) {
			v := int(s[i]-'0')*100 + int(s[i+1]-'0')*10 + int(s[i+2]-'0')
			if v <= 255 {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// EscapeTXT returns raw bytes in the presentation form miekg/dns expects in
// a TXT record, for building records from raw data (test suites).
func EscapeTXT(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			b.WriteByte('\\')
			b.WriteByte('0' + c/100)
			b.WriteByte('0' + c/10%10)
			b.WriteByte('0' + c%10)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// NewTXT builds a TXT record from raw character-strings.
func NewTXT(name string, ttl uint32, raw ...string) *dns.TXT {
	t := &dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: ttl}}
	for _, s := range raw {
		t.Txt = append(t.Txt, EscapeTXT(s))
	}
	return t
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
