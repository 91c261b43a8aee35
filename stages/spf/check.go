package spf

import (
	"context"
	"net"
	"net/netip"

	"blitiri.com.ar/go/spf"
	"github.com/sluicemail/sluice/stages/resolver"
)

// Check evaluates the SPF policy of domain for ip, as a receiver would
// for mail from postmaster@domain (RFC 7208 section 4): includes,
// redirects and the lookup limits as in the stage. `sluice doctor` uses
// it to see whether our own addresses are authorised. The result is an
// RFC word (pass, fail, softfail, neutral, none, temperror, permerror).
func Check(ctx context.Context, r resolver.Resolver, ip netip.Addr, domain string) (string, error) {
	res, err := spf.CheckHostWithSender(net.IP(ip.Unmap().AsSlice()), domain, "postmaster@"+domain,
		spf.WithContext(ctx), spf.WithResolver(dnsAdapter{r}))
	return string(res), err
}
