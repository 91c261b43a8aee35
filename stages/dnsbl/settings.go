package dnsbl

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Settings configure the stage under `stages: {dnsbl: ...}`:
//
//	zones:
//	  - {zone: zen.example-bl.org, codes: {127.0.0.2: sbl, 127.0.0.4: xbl}, score: 3}
//	  - {zone: list.dnswl.example, allow: true, score: -2}
//	  - {zone: dbl.example, type: domain}
//	  - {zone: bitmask.example, bitmask: {2: spam, 4: phish}}
type Settings struct {
	Zones []ZoneSettings `yaml:"zones"`
	// MaxDomains bounds the domains looked up in each domain list per
	// message (sender, From, then URL domains in order). Default 20.
	MaxDomains int `yaml:"max_domains"`
	// QueryLocal makes the IP lists also look up loopback, private (RFC
	// 1918, RFC 4193) and link-local clients. Off by default: public lists
	// know nothing of them, and the query would leak internal addresses.
	QueryLocal bool `yaml:"query_local"`
}

// DefaultMaxDomains is the default of Settings.MaxDomains.
const DefaultMaxDomains = 20

// ZoneSettings configure one list.
type ZoneSettings struct {
	// Zone is the list's DNS zone, e.g. zen.spamhaus.org.
	Zone string `yaml:"zone"`
	// Type is "ip" (the default: the client IP, RFC 5782 section 2) or
	// "domain" (sender, From and URL domains, RFC 5782 section 2.3).
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
	// good", set dnsbl.allowed and count against the score.
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

// compile validates the settings of one list.
func (z ZoneSettings) compile() (*list, error) {
	name := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(z.Zone)), ".")
	if name == "" {
		return nil, errors.New("a list needs a zone")
	}
	if !isHostname(name) || len(name) > 200 {
		return nil, fmt.Errorf("zone %q is not a valid domain name", z.Zone)
	}
	l := &list{zone: name, allow: z.Allow, score: z.Score, codes: map[netip.Addr]CodeSpec{}, refused: map[netip.Addr]bool{}}
	switch z.Type {
	case "", "ip":
	case "domain":
		l.domain = true
	default:
		return nil, fmt.Errorf("zone %s: type %q (want ip or domain)", name, z.Type)
	}
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

// compileAll validates the settings of every list.
func (s Settings) compileAll() ([]*list, error) {
	var out []*list
	seen := map[string]bool{}
	for _, z := range s.Zones {
		l, err := z.compile()
		if err != nil {
			return nil, err
		}
		key := fmt.Sprint(l.zone, l.domain)
		if seen[key] {
			return nil, fmt.Errorf("zone %s configured twice", l.zone)
		}
		seen[key] = true
		out = append(out, l)
	}
	if s.MaxDomains < 0 {
		return nil, fmt.Errorf("max_domains %d is negative", s.MaxDomains)
	}
	return out, nil
}
