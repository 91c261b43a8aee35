package resolver

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// defaultNegativeTTL is how long a negative answer from zone data without an
// SOA record may be cached.
const defaultNegativeTTL = time.Minute

// Zone answers queries from RFC 1035 master files only, with no network: the
// resolver of dry runs (`sluice check --dns`), rule tests and the test
// suite. A name that has records of other types gets NoData; a name absent
// from the data gets NXDomain, unless a wildcard covers it (RFC 4592) or it
// is listed as failing.
type Zone struct {
	records map[string][]dns.RR // by lower-case owner name (FQDN)
	names   map[string]bool     // every owner name and its ancestors (empty non-terminals)
	failing map[string]error    // names that answer with a temporary failure
	failTyp map[failKey]error   // name and type pairs that do
}

type failKey struct {
	name  string
	qtype uint16
}

// NewZone returns an empty zone.
func NewZone() *Zone {
	return &Zone{records: map[string][]dns.RR{}, names: map[string]bool{}, failing: map[string]error{}, failTyp: map[failKey]error{}}
}

// LoadZoneFile reads a master file. $ORIGIN defaults to the root.
func LoadZoneFile(path string) (*Zone, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z := NewZone()
	if err := z.Parse(f, path); err != nil {
		return nil, err
	}
	return z, nil
}

// ParseZone reads master-file text into a new zone.
func ParseZone(text string) (*Zone, error) {
	z := NewZone()
	return z, z.Parse(strings.NewReader(text), "zone")
}

// Parse adds the records of a master file. Errors name the file and line.
func (z *Zone) Parse(r io.Reader, name string) error {
	zp := dns.NewZoneParser(r, ".", name)
	zp.SetDefaultTTL(300)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		z.Add(rr)
	}
	if err := zp.Err(); err != nil {
		return fmt.Errorf("zone file: %w", err)
	}
	return nil
}

// Add adds one record. It must not be called while queries are running.
func (z *Zone) Add(rr dns.RR) {
	owner := zoneKey(rr.Header().Name)
	z.records[owner] = append(z.records[owner], rr)
	for n := owner; ; {
		z.names[n] = true
		i := strings.IndexByte(n, '.')
		if i < 0 || i == len(n)-1 {
			break
		}
		n = n[i+1:]
	}
}

// Fail makes queries for name fail with err (ErrTimeout or ErrServFail), to
// test temperror handling. The in-process server of package dnstest drops
// the queries of a name failing with ErrTimeout and answers SERVFAIL for
// any other error. It must not be called while queries are running.
func (z *Zone) Fail(name string, err error) {
	z.failing[zoneKey(name)] = err
}

// FailType is Fail for queries of one type only.
func (z *Zone) FailType(name string, qtype uint16, err error) {
	z.failTyp[failKey{zoneKey(name), qtype}] = err
}

// Has reports whether the data holds records of type qtype at name
// (without following CNAMEs).
func (z *Zone) Has(name string, qtype uint16) bool {
	for _, rr := range z.records[zoneKey(name)] {
		if rr.Header().Rrtype == qtype {
			return true
		}
	}
	return false
}

// ZoneResult is the full result of a lookup in zone data, shaped like a DNS
// response: what an authoritative server built on the zone would send.
type ZoneResult struct {
	Status Status
	Chain  []dns.RR // the CNAMEs followed, then the records of the asked type
	SOA    *dns.SOA // the closest enclosing SOA, for negative answers (may be nil)
}

// Lookup resolves name in the zone data, following CNAMEs (up to 8). The
// error is the name's Fail error, or ErrServFail for a CNAME chain too long.
func (z *Zone) Lookup(name string, qtype uint16) (*ZoneResult, error) {
	owner, ok := canonicalName(name)
	res := &ZoneResult{}
	if !ok {
		res.Status = NXDomain
		return res, nil
	}
	for hops := 0; hops < 8; hops++ {
		if err := z.failing[owner]; err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := z.failTyp[failKey{owner, qtype}]; err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		rrs, exists := z.records[owner]
		if !exists && !z.names[owner] {
			if rrs = z.wildcard(owner); rrs == nil {
				res.Status, res.SOA = NXDomain, z.soaFor(owner)
				return res, nil
			}
		}
		var cname dns.RR
		found := false
		for _, rr := range rrs {
			switch {
			case rr.Header().Rrtype == qtype:
				res.Chain = append(res.Chain, rr)
				found = true
			case rr.Header().Rrtype == dns.TypeCNAME && qtype != dns.TypeCNAME:
				cname = rr
			}
		}
		if found || cname == nil {
			if !found {
				res.Status, res.SOA = NoData, z.soaFor(owner)
			}
			return res, nil
		}
		res.Chain = append(res.Chain, cname)
		owner = zoneKey(cname.(*dns.CNAME).Target)
	}
	return nil, fmt.Errorf("%s: CNAME chain too long: %w", name, ErrServFail)
}

// wildcard returns the records a wildcard synthesizes for a name that does
// not exist (RFC 4592 section 3.3.1): those of "*." + the closest
// encloser, copied with the name as owner; nil when there are none.
func (z *Zone) wildcard(owner string) []dns.RR {
	for n := owner; ; {
		i := strings.IndexByte(n, '.')
		if i < 0 || i == len(n)-1 {
			return nil
		}
		n = n[i+1:]
		if !z.names[n] {
			continue
		}
		src := z.records["*."+n]
		if len(src) == 0 {
			return nil
		}
		out := make([]dns.RR, len(src))
		for j, rr := range src {
			out[j] = dns.Copy(rr)
			out[j].Header().Name = owner
		}
		return out
	}
}

// zoneKey is the key of a name in the zone data: its canonical form, or
// the lower-case FQDN for a name that cannot be encoded.
func zoneKey(name string) string {
	if n, ok := canonicalName(name); ok {
		return n
	}
	return strings.ToLower(dns.Fqdn(name))
}

// soaFor returns the SOA of the closest enclosing zone in the data.
func (z *Zone) soaFor(owner string) *dns.SOA {
	for n := owner; ; {
		for _, rr := range z.records[n] {
			if soa, ok := rr.(*dns.SOA); ok {
				return soa
			}
		}
		i := strings.IndexByte(n, '.')
		if i < 0 || i == len(n)-1 {
			return nil
		}
		n = n[i+1:]
	}
}

// Query implements Resolver. CNAMEs are followed (up to 8) inside the data;
// negative answers carry the TTL that RFC 2308 section 5 gives them.
func (z *Zone) Query(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTimeout, err)
	}
	res, err := z.Lookup(name, qtype)
	if err != nil {
		return nil, err
	}
	if res.Status != Success {
		ttl := defaultNegativeTTL
		if res.SOA != nil {
			ttl = negativeTTL(res.SOA)
		}
		return &Answer{Status: res.Status, TTL: ttl}, nil
	}
	out := make([]dns.RR, 0, len(res.Chain))
	for _, rr := range res.Chain {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	return &Answer{Status: Success, Records: out, TTL: ttlOf(res.Chain)}, nil
}

// negativeTTL is the lesser of the SOA's own TTL and its MINIMUM field
// (RFC 2308 section 5).
func negativeTTL(soa *dns.SOA) time.Duration {
	return time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
}

func ttlOf(rrs []dns.RR) time.Duration {
	ttl := uint32(0)
	for i, rr := range rrs {
		if t := rr.Header().Ttl; i == 0 || t < ttl {
			ttl = t
		}
	}
	return time.Duration(ttl) * time.Second
}
