package engine

import (
	"fmt"
	"net/netip"
	"strings"
)

// List is a named set of addresses, domains and networks, for in_list.
// A domain entry "example.com" matches that domain and any address at it; an
// entry ".example.com" matches its subdomains too (as Postfix's
// parent_domain_matches_subdomains does). IP values match CIDR entries.
type List struct {
	Name      string
	addresses map[string]bool
	domains   map[string]bool
	parents   map[string]bool // entries written with a leading dot
	prefixes  []netip.Prefix
}

// NewList parses entries. A malformed entry is an error naming it.
func NewList(name string, entries []string) (*List, error) {
	l := &List{Name: name, addresses: map[string]bool{}, domains: map[string]bool{}, parents: map[string]bool{}}
	for _, e := range entries {
		if err := l.add(strings.TrimSpace(e)); err != nil {
			return nil, fmt.Errorf("list %q: %w", name, err)
		}
	}
	return l, nil
}

func (l *List) add(e string) error {
	switch {
	case e == "":
		return nil
	case strings.Contains(e, "/"):
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return fmt.Errorf("entry %q is not a network: %v", e, err)
		}
		l.prefixes = append(l.prefixes, p.Masked())
	case strings.Contains(e, "@"):
		l.addresses[strings.ToLower(strings.Trim(e, "<>"))] = true
	default:
		if ip, err := netip.ParseAddr(e); err == nil {
			l.prefixes = append(l.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
			return nil
		}
		d := strings.TrimSuffix(strings.ToLower(e), ".")
		if strings.ContainsAny(d, " \t,;") {
			return fmt.Errorf("entry %q is not an address, domain or network", e)
		}
		if strings.HasPrefix(d, ".") {
			l.parents[d[1:]] = true
		} else {
			l.domains[d] = true
		}
	}
	return nil
}

// Len returns the number of entries.
func (l *List) Len() int {
	return len(l.addresses) + len(l.domains) + len(l.parents) + len(l.prefixes)
}

// Contains reports whether value (an address, a domain or an IP) is in the
// list.
func (l *List) Contains(value string) bool {
	v := strings.ToLower(strings.TrimSpace(strings.Trim(value, "<>")))
	if v == "" {
		return false
	}
	if ip, err := netip.ParseAddr(v); err == nil {
		ip = ip.Unmap()
		for _, p := range l.prefixes {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}
	if strings.Contains(v, "@") {
		if l.addresses[v] {
			return true
		}
		v = domainOf(v)
	}
	return l.hasDomain(strings.TrimSuffix(v, "."))
}

func (l *List) hasDomain(d string) bool {
	if l.domains[d] || l.parents[d] {
		return true
	}
	for i := strings.IndexByte(d, '.'); i >= 0; i = strings.IndexByte(d, '.') {
		d = d[i+1:]
		if l.parents[d] {
			return true
		}
	}
	return false
}

// inCIDR implements cidr(ip, network).
func inCIDR(ip, network string) bool {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return false
	}
	p, err := netip.ParsePrefix(network)
	if err != nil {
		return false
	}
	return p.Contains(a.Unmap())
}
