package spf

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sluicemail/sluice/stages/resolver"
)

// The spf library ignores exp= (RFC 7208 section 6.2), so after a fail the
// stage finds the explanation itself: the record that decided (the checked
// domain's, or the one its redirect= leads to), its exp= domain-spec
// expanded, a single TXT record there, and that text's macros expanded.

// macroEnv holds what macros expand to (RFC 7208 section 7.3).
type macroEnv struct {
	ctx    context.Context
	dns    resolver.Resolver
	sender string // local-part@domain
	helo   string
	ip     netip.Addr
	now    time.Time
}

// explanation returns the exp= text for a fail of domain, "" when there is
// none or it cannot be had (section 6.2: then proceed as if no exp).
func explanation(env *macroEnv, domain string) string {
	for hops := 0; hops <= 10; hops++ {
		rec := spfRecord(env, domain)
		if rec == "" {
			return ""
		}
		terms := strings.Fields(rec)[1:]
		redirect, exp := modifier(terms, "redirect"), modifier(terms, "exp")
		if redirect != "" && !mayDecide(terms) {
			// The fail came from the redirect target, whose exp= applies
			// (section 6.2: "redirect" cancels the original's exp).
			next, err := env.expand(redirect, domain, false)
			if err != nil {
				return ""
			}
			domain = next
			continue
		}
		if exp == "" {
			return ""
		}
		name, err := env.expand(exp, domain, false)
		if err != nil {
			return ""
		}
		txt, st, err := resolver.LookupTXT(env.ctx, env.dns, name)
		if err != nil || st != resolver.Success || len(txt) != 1 {
			return ""
		}
		text, err := env.expand(txt[0], domain, true)
		if err != nil {
			return ""
		}
		return text
	}
	return ""
}

// spfRecord returns the single SPF record of domain, "" if none.
func spfRecord(env *macroEnv, domain string) string {
	txt, _, err := resolver.LookupTXT(env.ctx, env.dns, domain)
	if err != nil {
		return ""
	}
	rec := ""
	for _, t := range txt {
		if isSPFRecord(t) {
			if rec != "" {
				return ""
			}
			rec = t
		}
	}
	return rec
}

// modifier returns the value of the named modifier, "" if absent.
func modifier(terms []string, name string) string {
	for _, t := range terms {
		if len(t) > len(name) && t[len(name)] == '=' && strings.EqualFold(t[:len(name)], name) {
			return t[len(name)+1:]
		}
	}
	return ""
}

// mayDecide reports whether a mechanism of the record itself may have
// given the fail: an "all" (which also makes redirect= unreachable) or a
// mechanism qualified with '-'. The library does not say which term
// matched, so a record with both a "-" mechanism and redirect= is taken to
// have decided itself.
func mayDecide(terms []string) bool {
	for _, t := range terms {
		l := strings.ToLower(strings.TrimLeft(t, "+?~"))
		if l == "all" || strings.HasPrefix(l, "-") {
			return true
		}
	}
	return false
}

// expand expands the macros of a domain-spec (exp false: truncated to 253
// octets from the left, section 7.3) or of explanation text (exp true:
// the letters c, r and t are allowed).
func (env *macroEnv) expand(s, domain string, exp bool) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("%w: lone %%", ErrSyntax)
		}
		i++
		switch s[i] {
		case '%':
			b.WriteByte('%')
		case '_':
			b.WriteByte(' ')
		case '-':
			b.WriteString("%20")
		case '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("%w: unterminated macro", ErrSyntax)
			}
			v, err := env.macro(s[i+1:i+end], domain, exp)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			i += end
		default:
			return "", fmt.Errorf("%w: %% followed by %q", ErrSyntax, s[i])
		}
	}
	out := b.String()
	if !exp {
		out = truncateName(out)
	}
	return out, nil
}

// macro expands one %{...}: letter, transformers, delimiters.
func (env *macroEnv) macro(body, domain string, exp bool) (string, error) {
	if body == "" {
		return "", fmt.Errorf("%w: empty macro", ErrSyntax)
	}
	letter := body[0]
	value, ok := env.letter(letter|0x20, domain, exp)
	if !ok {
		return "", fmt.Errorf("%w: macro letter %q", ErrSyntax, letter)
	}
	rest := body[1:]
	j := 0
	for j < len(rest) && isDigitByte(rest[j]) {
		j++
	}
	keep := 0
	if j > 0 {
		n, err := strconv.Atoi(rest[:j])
		if err != nil || n == 0 {
			return "", fmt.Errorf("%w: macro digits %q", ErrSyntax, rest[:j])
		}
		keep = n
	}
	rest = rest[j:]
	reverse := rest != "" && (rest[0] == 'r' || rest[0] == 'R')
	if reverse {
		rest = rest[1:]
	}
	delims := "."
	if rest != "" {
		if strings.Trim(rest, ".-+,/_=") != "" {
			return "", fmt.Errorf("%w: macro delimiters %q", ErrSyntax, rest)
		}
		delims = rest
	}
	parts := strings.FieldsFunc(value, func(r rune) bool { return strings.ContainsRune(delims, r) })
	if reverse {
		for a, z := 0, len(parts)-1; a < z; a, z = a+1, z-1 {
			parts[a], parts[z] = parts[z], parts[a]
		}
	}
	if keep > 0 && keep < len(parts) {
		parts = parts[len(parts)-keep:]
	}
	out := strings.Join(parts, ".")
	if letter >= 'A' && letter <= 'Z' {
		out = urlEscape(out)
	}
	return out, nil
}

// letter returns the value of a lower-case macro letter.
func (env *macroEnv) letter(c byte, domain string, exp bool) (string, bool) {
	local, senderDomain, _ := strings.Cut(env.sender, "@")
	switch c {
	case 's':
		return env.sender, true
	case 'l':
		return local, true
	case 'o':
		return senderDomain, true
	case 'd':
		return domain, true
	case 'i':
		if env.ip.Is4() {
			return env.ip.String(), true
		}
		return nibbles(env.ip), true
	case 'p':
		return validatedName(env, domain), true
	case 'v':
		if env.ip.Is4() {
			return "in-addr", true
		}
		return "ip6", true
	case 'h':
		return env.helo, true
	}
	if !exp {
		return "", false
	}
	switch c {
	case 'c':
		return env.ip.String(), true
	case 'r':
		return "unknown", true
	case 't':
		return strconv.FormatInt(env.now.Unix(), 10), true
	}
	return "", false
}

// nibbles writes an IPv6 address as 32 dot-separated nibbles, most
// significant first (section 7.3: the "i" macro of an IPv6 client).
func nibbles(ip netip.Addr) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i, x := range ip.As16() {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteByte(hex[x>>4])
		b.WriteByte('.')
		b.WriteByte(hex[x&15])
	}
	return b.String()
}

// validatedName is %{p} (section 7.3): a PTR name of the client whose
// addresses include it, preferring domain itself, then a subdomain of it;
// "unknown" if none.
func validatedName(env *macroEnv, domain string) string {
	names, _, err := resolver.LookupPTR(env.ctx, env.dns, env.ip)
	if err != nil {
		return "unknown"
	}
	best, rank := "unknown", 0
	for i, n := range names {
		if i == 10 {
			break // section 4.6.4: at most 10 PTR names
		}
		n = strings.TrimSuffix(n, ".")
		addrs, _, _ := resolver.LookupIP(env.ctx, env.dns, n)
		ok := false
		for _, a := range addrs {
			ok = ok || a.Unmap() == env.ip
		}
		if !ok {
			continue
		}
		r := 1
		switch {
		case strings.EqualFold(n, domain):
			r = 3
		case strings.HasSuffix(strings.ToLower(n), "."+strings.ToLower(domain)):
			r = 2
		}
		if r > rank {
			best, rank = n, r
		}
	}
	return best
}

// truncateName drops labels from the left until the name fits in 253
// octets (section 7.3).
func truncateName(s string) string {
	for len(strings.TrimSuffix(s, ".")) > 253 {
		i := strings.IndexByte(s, '.')
		if i < 0 {
			return s
		}
		s = s[i+1:]
	}
	return s
}

// urlEscape escapes what is not unreserved (RFC 3986 section 2.3), as
// upper-case macro letters ask (section 7.3).
func urlEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || isDigitByte(c) || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
