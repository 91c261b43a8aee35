package dnsbl

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Settings configure one stage: `stages: {dnsbl: ...}` for IP lists,
//
//	zones:
//	  - {zone: zen.example-bl.org, codes: {127.0.0.2: sbl, 127.0.0.4: xbl}, score: 3}
//	  - {zone: list.dnswl.example, allow: true, score: -2}
//	query_local: false
//
// or `stages: {uribl: ...}` for domain lists:
//
//	zones:
//	  - {zone: dbl.example, codes: {127.0.1.2: spam, 127.0.1.4: phish}, refused: [127.0.1.255]}
//	  - {zone: bitmask.example, bitmask: {2: spam, 4: phish}}
//	max_domains: 20
type Settings struct {
	Zones []ZoneSettings `yaml:"zones"`
	// MaxDomains (uribl only) bounds the domains looked up in each list
	// per message (sender, From, then URL domains in order). Default 20.
	MaxDomains int `yaml:"max_domains"`
	// QueryLocal (dnsbl only) makes the lists also look up loopback,
	// private (RFC 1918, RFC 4193) and link-local clients. Off by default:
	// public lists know nothing of them, and the query would leak internal
	// addresses.
	QueryLocal bool `yaml:"query_local"`
}

// DefaultMaxDomains is the default of Settings.MaxDomains.
const DefaultMaxDomains = 20

// ZoneSettings configure one list.
type ZoneSettings struct {
	// Zone is the list's DNS zone, e.g. zen.spamhaus.org.
	Zone string `yaml:"zone"`
	// Type may say what the list holds: "ip" (the client IP, RFC 5782
	// section 2.1) under dnsbl, "domain" (sender, From and URL domains,
	// RFC 5782 section 2.3) under uribl. Left out, it is the stage's kind;
	// the other kind is refused, naming the stage the list belongs to.
	Type string `yaml:"type"`
	// Codes maps a return code (an address in 127.0.0.0/8) to a tag, or
	// to {tag, score}.
	Codes map[string]CodeSpec `yaml:"codes"`
	// Bitmask maps a bit of the last octet of the return code (1, 2, 4,
	// ... 128) to a tag, or to {tag, score}, for lists like URIBL and
	// SURBL whose answer is the sum of the lists an item is on.
	Bitmask map[int]CodeSpec `yaml:"bitmask"`
	// Score is the score of a hit whose matched codes carry no score of
	// their own. On an allow list it always counts negatively.
	Score float64 `yaml:"score"`
	// Allow makes the list an allow list (DNSWL): its hits mean "known
	// good", set the stage's allowed fact and count against the score.
	Allow bool `yaml:"allow"`
	// Refused lists extra return codes that mean the list refused the
	// query (e.g. 127.0.1.255 on Spamhaus DBL, 127.0.0.1 on URIBL).
	// Answers outside 127.0.0.0/8 and in 127.255.255.0/24 always do.
	Refused []string `yaml:"refused"`
}

// CodeSpec is what one return code or bit means.
type CodeSpec struct {
	Tag   string   `yaml:"tag"`
	Score *float64 `yaml:"score"`
}

// UnmarshalYAML accepts a bare tag ("sbl") or {tag: sbl, score: 3}.
func (c *CodeSpec) UnmarshalYAML(unmarshal func(any) error) error {
	var tag string
	if err := unmarshal(&tag); err == nil {
		*c = CodeSpec{Tag: tag}
		return nil
	}
	type plain CodeSpec
	var p plain
	if err := unmarshal(&p); err != nil {
		return fmt.Errorf("a return code maps to a tag or to {tag, score}: %w", err)
	}
	*c = CodeSpec(p)
	return nil
}

// list is a validated ZoneSettings, ready for lookups.
type list struct {
	zone    string // lower case, no trailing dot
	domain  bool
	allow   bool
	score   float64
	codes   map[netip.Addr]CodeSpec
	bits    []bitSpec // sorted by bit
	refused map[netip.Addr]bool
}

type bitSpec struct {
	bit  uint8
	spec CodeSpec
}

var loopback8 = netip.MustParsePrefix("127.0.0.0/8")

// compile validates the settings of one list of a stage of the given kind.
func (z ZoneSettings) compile(kind Kind) (*list, error) {
	name := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(z.Zone)), ".")
	if name == "" {
		return nil, errors.New("a list needs a zone")
	}
	if !isHostname(name) || len(name) > 200 {
		return nil, fmt.Errorf("zone %q is not a valid domain name", z.Zone)
	}
	if err := kind.accepts(z.Type); err != nil {
		return nil, fmt.Errorf("zone %s: %w", name, err)
	}
	l := &list{zone: name, domain: kind == DomainLists, allow: z.Allow, score: z.Score, codes: map[netip.Addr]CodeSpec{}, refused: map[netip.Addr]bool{}}
	if l.allow && l.score > 0 {
		l.score = -l.score // an allow list counts negatively
	}
	for code, spec := range z.Codes {
		a, err := netip.ParseAddr(code)
		if err != nil || !loopback8.Contains(a) {
			return nil, fmt.Errorf("zone %s: return code %q is not an address in 127.0.0.0/8", name, code)
		}
		l.codes[a] = spec
	}
	for bit, spec := range z.Bitmask {
		if bit <= 0 || bit > 255 || bit&(bit-1) != 0 {
			return nil, fmt.Errorf("zone %s: bitmask key %d is not a single bit (1, 2, 4 ... 128)", name, bit)
		}
		l.bits = append(l.bits, bitSpec{uint8(bit), spec})
	}
	sort.Slice(l.bits, func(i, j int) bool { return l.bits[i].bit < l.bits[j].bit })
	for _, code := range z.Refused {
		a, err := netip.ParseAddr(code)
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("zone %s: refused code %q is not an IPv4 address", name, code)
		}
		l.refused[a] = true
	}
	return l, nil
}

// isHostname reports whether s is dot-separated labels of 1 to 63 letters,
// digits, '-' or '_' (DNS list zones are host-name-like, RFC 5782).
func isHostname(s string) bool {
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// accepts checks a zone's type against the kind of the stage it is
// configured under. A list under the wrong stage is refused rather than
// moved: the stage decides the phase its rules answer in.
func (k Kind) accepts(typ string) error {
	switch {
	case typ == "" || typ == "ip" && k == IPLists || typ == "domain" && k == DomainLists:
		return nil
	case typ == "domain":
		return errors.New("domain lists go under the uribl stage")
	case typ == "ip":
		return errors.New("IP lists go under the dnsbl stage")
	}
	want := "ip"
	if k == DomainLists {
		want = "domain"
	}
	return fmt.Errorf("type %q (want %s, or leave it out)", typ, want)
}

// compileAll validates the settings of every list of a stage of the given
// kind, and refuses the setting that belongs to the other stage.
func (s Settings) compileAll(kind Kind) ([]*list, error) {
	switch {
	case kind == IPLists && s.MaxDomains != 0:
		return nil, errors.New("max_domains bounds the domains looked up in domain lists: it goes under the uribl stage")
	case kind == DomainLists && s.QueryLocal:
		return nil, errors.New("query_local is about client IPs: it goes under the dnsbl stage")
	case s.MaxDomains < 0:
		return nil, fmt.Errorf("max_domains %d is negative", s.MaxDomains)
	}
	var out []*list
	seen := map[string]bool{}
	for _, z := range s.Zones {
		l, err := z.compile(kind)
		if err != nil {
			return nil, err
		}
		if seen[l.zone] {
			return nil, fmt.Errorf("zone %s configured twice", l.zone)
		}
		seen[l.zone] = true
		out = append(out, l)
	}
	return out, nil
}
