package relay

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"

	"github.com/sluicemail/sluice/stages/resolver"
	"golang.org/x/net/idna"
)

// mxHosts returns the hosts to try for domain, in order (RFC 5321 section
// 5.1): the MX hosts by preference, equal preferences shuffled; the domain
// itself when it has no MX (the implicit MX); an error for a null MX (RFC
// 7505), a domain that does not exist, or a DNS failure.
func (c *Client) mxHosts(ctx context.Context, domain string) (hosts []string, implicit bool, err *Error) {
	if strings.HasPrefix(domain, "[") {
		return []string{domain}, true, nil
	}
	// An internationalised domain is looked up in its A-label form (RFC 5891).
	if a, err := idna.Lookup.ToASCII(domain); err == nil {
		domain = a
	} else {
		return nil, false, permanent("", "5.1.2", fmt.Errorf("bad domain %q: %w", domain, err))
	}
	mx, status, qerr := resolver.LookupMX(ctx, c.opts.Resolver, domain)
	switch {
	case qerr != nil:
		return nil, false, temporary("", fmt.Errorf("MX lookup for %s: %w", domain, qerr))
	case status == resolver.NXDomain:
		return nil, false, permanent("", "5.1.2", fmt.Errorf("domain %s does not exist", domain))
	case status == resolver.NoData || len(mx) == 0:
		return []string{domain}, true, nil
	case resolver.IsNullMX(mx):
		// RFC 7505 section 4.1: the domain accepts no mail; 5.1.10.
		return nil, false, permanent("", "5.1.10", fmt.Errorf("domain %s accepts no mail (null MX)", domain))
	}
	for i := 0; i < len(mx); {
		j := i
		for j < len(mx) && mx[j].Pref == mx[i].Pref {
			j++
		}
		rand.Shuffle(j-i, func(a, b int) { mx[i+a], mx[i+b] = mx[i+b], mx[i+a] })
		i = j
	}
	for _, m := range mx {
		if m.Host != "." { // a stray root among real MX records is ignored
			hosts = append(hosts, m.Host)
		}
	}
	return hosts, false, nil
}

// addrs resolves a host to the addresses to connect to, IPv4 first. An
// address literal ("[192.0.2.1]") needs no lookup. A host without
// addresses is a permanent failure only as the implicit MX of the
// recipient domain; a named MX host without addresses may be fixed soon.
func (c *Client) addrs(ctx context.Context, host string, implicit bool) ([]netip.Addr, *Error) {
	if lit, ok := strings.CutPrefix(host, "["); ok {
		lit = strings.TrimPrefix(strings.TrimSuffix(lit, "]"), "IPv6:")
		ip, err := netip.ParseAddr(lit)
		if err != nil {
			return nil, permanent(host, "5.1.2", fmt.Errorf("bad address literal %s", host))
		}
		return []netip.Addr{ip}, nil
	}
	ips, status, err := resolver.LookupIP(ctx, c.opts.Resolver, host)
	if len(ips) == 0 {
		if err != nil {
			return nil, temporary(host, fmt.Errorf("address lookup: %w", err))
		}
		e := fmt.Errorf("%s has no address (%s)", host, status)
		if implicit {
			return nil, permanent(host, "5.1.2", e)
		}
		return nil, temporary(host, e)
	}
	var v4, v6 []netip.Addr
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			v4 = append(v4, ip.Unmap())
		} else {
			v6 = append(v6, ip)
		}
	}
	return append(v4, v6...), nil
}

var errNoHosts = errors.New("no mail host to try")
