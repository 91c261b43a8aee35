package spf

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// The spf library evaluates a record term by term and stops at the first
// match, so it misses syntax errors after a match and does not check
// domain-specs. RFC 7208 section 4.6 says a record with a syntax error
// anywhere gives permerror, so every SPF record is checked against the
// ABNF of section 12 when it is fetched, before the library sees it.

// ErrSyntax is a record that does not follow the RFC 7208 section 12 ABNF.
var ErrSyntax = errors.New("SPF record syntax error")

// isSPFRecord reports whether a TXT string is an SPF record (RFC 7208
// section 4.5: "v=spf1" alone or followed by a space, case-insensitive).
func isSPFRecord(txt string) bool {
	return len(txt) >= 6 && strings.EqualFold(txt[:6], "v=spf1") && (len(txt) == 6 || txt[6] == ' ')
}

// CheckRecord returns an error wrapping ErrSyntax if the record breaks the
// grammar of RFC 7208 section 12.
func CheckRecord(record string) error {
	if !isSPFRecord(record) {
		return fmt.Errorf("%w: not an SPF record", ErrSyntax)
	}
	seen := map[string]bool{}
	for _, term := range strings.Split(record[6:], " ") {
		if term == "" {
			continue // 1*SP between terms, and trailing spaces
		}
		if err := checkTerm(term, seen); err != nil {
			return fmt.Errorf("%w: %q: %v", ErrSyntax, term, err)
		}
	}
	return nil
}

func checkTerm(term string, seen map[string]bool) error {
	if i := strings.IndexAny(term, "=:/"); i > 0 && term[i] == '=' {
		return checkModifier(strings.ToLower(term[:i]), term[i+1:], seen)
	}
	if strings.ContainsRune("+-?~", rune(term[0])) {
		term = term[1:]
	}
	name, arg, hasArg := term, "", false
	if i := strings.IndexAny(term, ":/"); i >= 0 {
		name, arg, hasArg = term[:i], term[i:], true
	}
	switch strings.ToLower(name) {
	case "all":
		if hasArg {
			return errors.New("all takes no argument")
		}
		return nil
	case "include", "exists":
		if !strings.HasPrefix(arg, ":") {
			return errors.New("domain required")
		}
		return checkDomainSpec(arg[1:])
	case "a", "mx":
		return checkAMX(arg)
	case "ptr":
		if !hasArg {
			return nil
		}
		if !strings.HasPrefix(arg, ":") {
			return errors.New("ptr takes no prefix length")
		}
		return checkDomainSpec(arg[1:])
	case "ip4", "ip6":
		return checkIP(strings.ToLower(name), arg)
	}
	return errors.New("unknown mechanism")
}

// checkModifier checks redirect=, exp= (at most once each, RFC 7208
// section 6) and unknown modifiers (name "=" macro-string).
func checkModifier(name, value string, seen map[string]bool) error {
	if !isModifierName(name) {
		return errors.New("invalid modifier name")
	}
	switch name {
	case "redirect", "exp":
		if seen[name] {
			return errors.New("modifier given twice")
		}
		seen[name] = true
		return checkDomainSpec(value)
	}
	return checkMacroString(value)
}

func isModifierName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlpha(c):
		case i > 0 && (isDigitByte(c) || c == '-' || c == '_' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// checkAMX checks [ ":" domain-spec ] [ dual-cidr-length ]. A '/' is also
// a macro-literal, so the CIDR is the part from the first '/' outside a
// macro only when that part has the shape of one ("a:x/y.example.com" is
// a domain).
func checkAMX(arg string) error {
	domain, cidr := arg, ""
	if i := slashOutsideMacro(arg); i >= 0 && cidrShape(arg[i:]) {
		domain, cidr = arg[:i], arg[i:]
	}
	if domain != "" {
		if domain[0] != ':' {
			return errors.New("bad argument")
		}
		if err := checkDomainSpec(domain[1:]); err != nil {
			return err
		}
	}
	if cidr == "" {
		return nil
	}
	v4, v6, dual := cidr, "", false
	if i := strings.Index(cidr, "//"); i >= 0 {
		v4, v6, dual = cidr[:i], cidr[i+1:], true
	}
	if v4 != "" {
		if err := checkCIDR(v4, 32); err != nil {
			return err
		}
	}
	if dual {
		return checkCIDR(v6, 128)
	}
	return nil
}

// cidrShape reports whether s is made of '/' and digits only.
func cidrShape(s string) bool {
	return strings.Trim(s, "/0123456789") == ""
}

func slashOutsideMacro(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '{' && i > 0 && s[i-1] == '%':
			depth++
		case s[i] == '}' && depth > 0:
			depth--
		case s[i] == '/' && depth == 0:
			return i
		}
	}
	return -1
}

// checkCIDR checks "/" ("0" / %x31-39 0*nDIGIT) with a value up to max.
func checkCIDR(s string, limit int) error {
	if len(s) < 2 || s[0] != '/' || (s[1] == '0' && len(s) > 2) {
		return errors.New("bad prefix length")
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil || n < 0 || n > limit || strings.ContainsAny(s[1:], "+-") {
		return errors.New("bad prefix length")
	}
	return nil
}

// checkIP checks ip4:network[/len] and ip6:network[/len].
func checkIP(kind, arg string) error {
	if !strings.HasPrefix(arg, ":") {
		return errors.New("address required")
	}
	addr, cidr, _ := strings.Cut(arg[1:], "/")
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" || (kind == "ip4") != ip.Is4() {
		return errors.New("bad address")
	}
	if strings.Contains(arg[1:], "/") {
		limit := 32
		if kind == "ip6" {
			limit = 128
		}
		return checkCIDR("/"+cidr, limit)
	}
	return nil
}

// checkDomainSpec checks macro-string domain-end: the name must end in a
// macro or in "." toplabel [ "." ], where a toplabel is not all digits
// and neither starts nor ends with '-'.
func checkDomainSpec(s string) error {
	if err := checkMacroString(s); err != nil {
		return err
	}
	if strings.HasSuffix(s, "}") || strings.HasSuffix(s, "%%") ||
		strings.HasSuffix(s, "%_") || strings.HasSuffix(s, "%-") {
		return nil // ends in a macro-expand
	}
	t := strings.TrimSuffix(s, ".")
	i := strings.LastIndexByte(t, '.')
	if i < 0 {
		return errors.New("domain needs a dot and a top label")
	}
	if !isTopLabel(t[i+1:]) {
		return errors.New("invalid top label")
	}
	return nil
}

func isTopLabel(l string) bool {
	if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	alpha := false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case isAlpha(c):
			alpha = true
		case isDigitByte(c) || c == '-':
		default:
			return false
		}
	}
	return alpha
}

// checkMacroString checks *( macro-expand / macro-literal ), RFC 7208
// section 7.1. The letters c, r and t are for exp= text only (section 7.3).
func checkMacroString(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if c < 0x21 || c > 0x7e {
				return errors.New("character outside visible ASCII")
			}
			continue
		}
		if i+1 == len(s) {
			return errors.New("lone %")
		}
		i++
		switch s[i] {
		case '%', '_', '-':
			continue
		case '{':
		default:
			return errors.New("% not followed by {, %, _ or -")
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return errors.New("unterminated macro")
		}
		if err := checkMacroBody(s[i+1 : i+end]); err != nil {
			return err
		}
		i += end
	}
	return nil
}

// checkMacroBody checks macro-letter transformers *delimiter.
func checkMacroBody(b string) error {
	if b == "" || !strings.ContainsRune("slodiphvSLODIPHV", rune(b[0])) {
		return errors.New("invalid macro letter")
	}
	i := 1
	for i < len(b) && isDigitByte(b[i]) {
		i++
	}
	if i < len(b) && (b[i] == 'r' || b[i] == 'R') {
		i++
	}
	for ; i < len(b); i++ {
		if !strings.ContainsRune(".-+,/_=", rune(b[i])) {
			return errors.New("invalid macro delimiter")
		}
	}
	return nil
}

func isAlpha(c byte) bool     { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }
