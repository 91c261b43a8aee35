package dnsbl

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/resolver"
	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// job is one query: one item looked up in one list.
type job struct {
	list *list
	item string // the IP or domain looked up
	name string // the name queried
}

// outcome is what one job found.
type outcome struct {
	zone string
	hit  *engine.DNSBLHit
	err  error
}

// IPQueryName returns the name under which zone lists ip (RFC 5782
// section 2.1 and 2.4): octets or nibbles in reverse order, then the zone.
func IPQueryName(ip netip.Addr, zone string) string {
	return resolver.ReverseLabels(ip) + "." + dns.Fqdn(zone)
}

// DomainQueryName returns the name under which zone lists domain (RFC 5782
// section 2.3), and false when the result is not a valid name (too long).
func DomainQueryName(domain, zone string) (string, bool) {
	name := dns.Fqdn(strings.ToLower(domain) + "." + strings.TrimSuffix(zone, "."))
	if _, ok := dns.IsDomainName(name); !ok || len(name) > 254 {
		return "", false
	}
	return name, true
}

// domainItems returns the domains a message gives the domain lists: the
// envelope sender's, the From's, then those of the URLs in the body, each
// reduced to its registered domain (eTLD+1, the form DBL and URIBL list)
// in A-label form, deduplicated, at most max of them.
func domainItems(m *engine.Message, max int) []string {
	var out []string
	seen := map[string]bool{}
	add := func(host string) {
		d := registered(host)
		if d != "" && !seen[d] && len(out) < max {
			seen[d] = true
			out = append(out, d)
		}
	}
	add(engine.DomainOf(m.Envelope.MailFrom))
	if m.Raw == nil {
		return out
	}
	if from, _ := m.Header().Addresses("From"); len(from) > 0 {
		add(engine.DomainOf(from[0].Address))
	}
	for _, d := range m.Body().URLDomains {
		add(d)
	}
	return out
}

// registered returns the registered domain of a host name, "" for an
// address literal, a bare public suffix or a name that is not one.
func registered(host string) string {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" || strings.ContainsAny(host, ":/ @") {
		return ""
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	// Lists hold names in their A-label form (RFC 5891).
	host, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return ""
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return ""
	}
	return d
}

// lookup runs one job. NXDOMAIN and no data mean "not listed".
func lookup(ctx context.Context, r resolver.Resolver, j job) outcome {
	a, err := r.Query(ctx, j.name, dns.TypeA)
	if err != nil {
		return outcome{zone: j.list.zone, err: err}
	}
	if a.Status != resolver.Success {
		return outcome{}
	}
	var addrs []netip.Addr
	for _, rr := range a.Records {
		if v, ok := rr.(*dns.A); ok {
			if ip, ok := netip.AddrFromSlice(v.A.To4()); ok {
				addrs = append(addrs, ip)
			}
		}
	}
	if len(addrs) == 0 {
		return outcome{}
	}
	hit, err := j.list.interpret(addrs)
	if err != nil {
		return outcome{zone: j.list.zone, err: fmt.Errorf("%s: %w", j.name, err)}
	}
	if hit == nil {
		return outcome{}
	}
	hit.Query, hit.Item = strings.TrimSuffix(j.name, "."), j.item
	return outcome{zone: j.list.zone, hit: hit}
}

var errorCodes = netip.MustParsePrefix("127.255.255.0/24")

// interpret reads the A records of a positive answer. RFC 5782 section 2.1:
// entries are A records in 127.0.0.0/8; an answer outside it (a wildcard or
// parked zone) or an error code (127.255.255.x, the configured refused
// codes) means the list refused the query, never that the item is listed.
// A nil hit with a nil error means the answer holds no code the list maps.
func (l *list) interpret(addrs []netip.Addr) (*engine.DNSBLHit, error) {
	for _, a := range addrs {
		if !loopback8.Contains(a) || errorCodes.Contains(a) || l.refused[a] {
			return nil, fmt.Errorf("list refused the query (answered %s)", a)
		}
	}
	hit := &engine.DNSBLHit{Zone: l.zone, Allow: l.allow}
	seenTag := map[string]bool{}
	tag := func(t string) {
		if t != "" && !seenTag[t] {
			seenTag[t] = true
			hit.Tags = append(hit.Tags, t)
		}
	}
	var score float64
	scored, matched := false, false
	use := func(c CodeSpec) {
		matched = true
		tag(c.Tag)
		if c.Score != nil {
			score += *c.Score
			scored = true
		}
	}
	for _, a := range addrs {
		hit.Codes = append(hit.Codes, a.String())
		if c, ok := l.codes[a]; ok {
			use(c)
		}
		last := a.As4()[3]
		for _, b := range l.bits {
			if last&b.bit != 0 {
				use(b.spec)
			}
		}
	}
	if !matched && (len(l.codes) > 0 || len(l.bits) > 0) {
		// A list with a mapping counts only the codes it maps: a
		// ZEN answer 127.0.0.10 (PBL) is no hit for a rule set that
		// mapped only SBL and XBL.
		return nil, nil
	}
	if !scored {
		score = l.score
	}
	if l.allow && score > 0 {
		score = -score
	}
	hit.Score = score
	return hit, nil
}
