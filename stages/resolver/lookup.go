package resolver

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// LookupTXT returns the TXT records of name, the character-strings of each
// record joined with nothing between them (RFC 7208 section 3.3, RFC 6376
// section 3.6.2.2). A nil error comes with Success, NXDomain or NoData.
func LookupTXT(ctx context.Context, r Resolver, name string) ([]string, Status, error) {
	a, err := r.Query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, 0, err
	}
	var out []string
	for _, rr := range a.Records {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, joinTXT(t.Txt))
		}
	}
	return out, a.Status, nil
}

func joinTXT(parts []string) string {
	if len(parts) == 1 {
		return UnescapeTXT(parts[0])
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(UnescapeTXT(p))
	}
	return b.String()
}

// LookupIP returns the A and AAAA addresses of name, asked concurrently.
// The status is Success when either has addresses, NXDomain when the name
// does not exist, NoData otherwise. When one of the two queries fails
// temporarily the error is returned with whatever the other one found, so a
// caller that finds what it looks for among partial addresses may use them.
func LookupIP(ctx context.Context, r Resolver, name string) ([]netip.Addr, Status, error) {
	var (
		wg      sync.WaitGroup
		answers [2]*Answer
		errs    [2]error
	)
	for i, t := range [2]uint16{dns.TypeA, dns.TypeAAAA} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = r.Query(ctx, name, t)
		}()
	}
	wg.Wait()
	var out []netip.Addr
	status := NoData
	nx := 0
	for _, a := range answers {
		if a == nil {
			continue
		}
		if a.Status == NXDomain {
			nx++
		}
		for _, rr := range a.Records {
			if ip, ok := addrOf(rr); ok {
				out = append(out, ip)
			}
		}
	}
	switch {
	case len(out) > 0:
		status = Success
	case nx > 0:
		status = NXDomain
	}
	return out, status, errors.Join(errs[0], errs[1])
}

func addrOf(rr dns.RR) (netip.Addr, bool) {
	switch v := rr.(type) {
	case *dns.A:
		ip, ok := netip.AddrFromSlice(v.A.To4())
		return ip, ok
	case *dns.AAAA:
		ip, ok := netip.AddrFromSlice(v.AAAA.To16())
		return ip, ok
	}
	return netip.Addr{}, false
}

// LookupPTR returns the PTR names of ip (RFC 1035 section 3.5, RFC 3596
// section 2.5), as FQDNs with the trailing dot.
func LookupPTR(ctx context.Context, r Resolver, ip netip.Addr) ([]string, Status, error) {
	a, err := r.Query(ctx, ReverseName(ip), dns.TypePTR)
	if err != nil {
		return nil, 0, err
	}
	var out []string
	for _, rr := range a.Records {
		if p, ok := rr.(*dns.PTR); ok {
			out = append(out, p.Ptr)
		}
	}
	return out, a.Status, nil
}

// MX is one mail exchanger.
type MX struct {
	Host string // FQDN with the trailing dot; "." in a null MX
	Pref uint16
}

// LookupMX returns the MX records of name, lowest preference first.
func LookupMX(ctx context.Context, r Resolver, name string) ([]MX, Status, error) {
	a, err := r.Query(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, 0, err
	}
	var out []MX
	for _, rr := range a.Records {
		if m, ok := rr.(*dns.MX); ok {
			out = append(out, MX{Host: dns.Fqdn(m.Mx), Pref: m.Preference})
		}
	}
	sortMX(out)
	return out, a.Status, nil
}

func sortMX(mx []MX) {
	for i := 1; i < len(mx); i++ {
		for j := i; j > 0 && mx[j].Pref < mx[j-1].Pref; j-- {
			mx[j], mx[j-1] = mx[j-1], mx[j]
		}
	}
}

// IsNullMX reports whether the records are a null MX (RFC 7505 section 3):
// a single MX whose exchange is the root, meaning the domain accepts no mail.
func IsNullMX(mx []MX) bool {
	return len(mx) == 1 && mx[0].Host == "."
}

// ReverseName returns the name under in-addr.arpa or ip6.arpa that holds the
// PTR records of ip. An IPv4-mapped IPv6 address is treated as IPv4.
func ReverseName(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		return ReverseLabels(ip) + ".in-addr.arpa."
	}
	return ReverseLabels(ip) + ".ip6.arpa."
}

// ReverseLabels returns the labels that name ip in reverse DNS and in DNS
// lists (RFC 5782 section 2.1 and 2.4): the four octets of an IPv4 address
// in reverse order, or the 32 nibbles of an IPv6 address in reverse order.
// An IPv4-mapped IPv6 address is written as IPv6 (RFC 5782 test entry
// ::FFFF:7F00:2); callers that mean the IPv4 client unmap it first.
func ReverseLabels(ip netip.Addr) string {
	var b strings.Builder
	if ip.Is4() {
		a := ip.As4()
		b.Grow(15)
		for i := 3; i >= 0; i-- {
			writeUint8(&b, a[i])
			if i > 0 {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	const hex = "0123456789abcdef"
	a := ip.As16()
	b.Grow(63)
	for i := 15; i >= 0; i-- {
		b.WriteByte(hex[a[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hex[a[i]>>4])
		if i > 0 {
			b.WriteByte('.')
		}
	}
	return b.String()
}

func writeUint8(b *strings.Builder, v uint8) {
	if v >= 100 {
		b.WriteByte('0' + v/100)
	}
	if v >= 10 {
		b.WriteByte('0' + v/10%10)
	}
	b.WriteByte('0' + v%10)
}
