package spf

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"

	"github.com/sluicemail/sluice/stages/resolver"
)

// dnsAdapter gives the spf library the four lookups it needs (its
// DNSResolver interface, shaped like *net.Resolver) over our resolver. The
// library tells results apart by *net.DNSError: IsNotFound for NXDOMAIN
// (RFC 7208 section 4.3: result none; section 4.6.4: a void lookup),
// Temporary for timeouts and server failures (temperror). No data is an
// empty answer without error, which the library also counts as void.
type dnsAdapter struct {
	r resolver.Resolver
}

func (a dnsAdapter) LookupTXT(ctx context.Context, name string) ([]string, error) {
	txt, st, err := resolver.LookupTXT(ctx, a.r, name)
	if err := dnsError(name, st, err); err != nil {
		return nil, err
	}
	for _, t := range txt {
		if !isSPFRecord(t) {
			continue
		}
		if err := CheckRecord(t); err != nil {
			// Neither temporary nor not-found: the library makes it
			// permerror, for this record and for an include of it.
			return nil, &net.DNSError{Err: err.Error(), Name: strings.TrimSuffix(name, ".")}
		}
	}
	return txt, nil
}

func (a dnsAdapter) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	mx, st, err := resolver.LookupMX(ctx, a.r, name)
	if err := dnsError(name, st, err); err != nil {
		return nil, err
	}
	out := make([]*net.MX, len(mx))
	for i, m := range mx {
		out[i] = &net.MX{Host: m.Host, Pref: m.Pref}
	}
	return out, nil
}

func (a dnsAdapter) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	ips, st, err := resolver.LookupIP(ctx, a.r, host)
	if err := dnsError(host, st, err); err != nil {
		return nil, err
	}
	out := make([]net.IPAddr, len(ips))
	for i, ip := range ips {
		out[i] = net.IPAddr{IP: net.IP(ip.AsSlice())}
	}
	return out, nil
}

func (a dnsAdapter) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "invalid address", Name: addr}
	}
	names, st, err := resolver.LookupPTR(ctx, a.r, ip)
	return names, dnsError(addr, st, err)
}

// dnsError maps our result to what the library expects.
func dnsError(name string, st resolver.Status, err error) error {
	name = strings.TrimSuffix(name, ".")
	switch {
	case err != nil:
		return &net.DNSError{Err: err.Error(), Name: name, IsTimeout: errors.Is(err, resolver.ErrTimeout), IsTemporary: true}
	case st == resolver.NXDomain:
		return &net.DNSError{Err: "no such domain", Name: name, IsNotFound: true}
	}
	return nil
}
