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

// Zone answers queries from RFC 1035 master files only, with no network: the
// resolver of dry runs (`sluice check --dns`), rule tests and the test
// suite. A name that has records of other types gets NoData; a name absent
// from the data gets NXDomain, unless it is listed as failing.
type Zone struct {
	records map[string][]dns.RR // by lower-case owner name (FQDN)
	names   map[string]bool     // every owner name and its ancestors (empty non-terminals)
	failing map[string]error    // names that answer with a temporary failure
}

// NewZone returns an empty zone.
func NewZone() *Zone {
	return &Zone{records: map[string][]dns.RR{}, names: map[string]bool{}, failing: map[string]error{}}
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

// Add adds one record.
func (z *Zone) Add(rr dns.RR) {
	owner := strings.ToLower(dns.Fqdn(rr.Header().Name))
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
// test temperror handling.
func (z *Zone) Fail(name string, err error) {
	z.failing[strings.ToLower(dns.Fqdn(name))] = err
}

// Query implements Resolver. CNAMEs are followed (up to 8) inside the data.
func (z *Zone) Query(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTimeout, err)
	}
	owner := strings.ToLower(dns.Fqdn(name))
	var out []dns.RR
	for hops := 0; hops < 8; hops++ {
		if err := z.failing[owner]; err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		rrs, exists := z.records[owner]
		if !exists && !z.names[owner] {
			if len(out) > 0 {
				return &Answer{Status: NoData, Records: nil, TTL: time.Minute}, nil
			}
			return &Answer{Status: NXDomain, TTL: time.Minute}, nil
		}
		var cname string
		for _, rr := range rrs {
			if rr.Header().Rrtype == qtype {
				out = append(out, rr)
			} else if c, ok := rr.(*dns.CNAME); ok && qtype != dns.TypeCNAME {
				cname = strings.ToLower(c.Target)
			}
		}
		hasType := false
		for _, rr := range out {
			if rr.Header().Rrtype == qtype {
				hasType = true
			}
		}
		if hasType || cname == "" {
			if !hasType {
				return &Answer{Status: NoData, TTL: time.Minute}, nil
			}
			return &Answer{Status: Success, Records: out, TTL: ttlOf(out)}, nil
		}
		owner = cname
	}
	return nil, fmt.Errorf("%s: CNAME chain too long: %w", name, ErrServFail)
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
