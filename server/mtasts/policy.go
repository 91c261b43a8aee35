// Package mtasts implements SMTP MTA Strict Transport Security (RFC 8461):
// the _mta-sts TXT record and the policy file (parsing, writing, the MX
// patterns of section 4.1), and a Fetcher that gets a recipient domain's
// policy over HTTPS with certificate validation and caches it by id and
// max_age, as a sending MTA must (section 5).
package mtasts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Policy modes (RFC 8461 section 5).
const (
	Enforce = "enforce"
	Testing = "testing"
	None    = "none"
)

// MaxMaxAge is the largest max_age (RFC 8461 section 3.2: 31557600).
const MaxMaxAge = 31557600 * time.Second

// Policy is a parsed policy file.
type Policy struct {
	Mode   string        // enforce, testing or none
	MX     []string      // patterns, lower case, "*.example.net" allowed
	MaxAge time.Duration // how long it may be cached
	Text   string        // the file as fetched, for TLS-RPT's policy-string
}

// ErrPolicy is wrapped by every policy-file syntax error.
var ErrPolicy = errors.New("mta-sts: invalid policy")

// maxPolicySize bounds the policy file (RFC 8461 section 3.3 lets senders
// set a limit; 64 KiB is the one the RFC suggests).
const maxPolicySize = 64 << 10

// ParsePolicy parses a policy file (RFC 8461 section 3.2): "key: value"
// lines separated by LF or CRLF, version STSv1, a mode, at least one mx
// unless the mode is none, and a max_age. Unknown keys are ignored;
// a repeated key other than mx keeps its first value.
func ParsePolicy(text string) (*Policy, error) {
	if len(text) > maxPolicySize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrPolicy, maxPolicySize)
	}
	p := &Policy{Text: text}
	seen := map[string]bool{}
	var version string
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%w: line %q has no colon", ErrPolicy, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k != "mx" && seen[k] {
			continue
		}
		seen[k] = true
		if err := p.set(k, v, &version); err != nil {
			return nil, err
		}
	}
	return p, p.check(version, seen["max_age"])
}

func (p *Policy) set(k, v string, version *string) error {
	switch k {
	case "version":
		*version = v
	case "mode":
		p.Mode = v
	case "mx":
		if !validPattern(v) {
			return fmt.Errorf("%w: mx %q is not a host name pattern", ErrPolicy, v)
		}
		p.MX = append(p.MX, strings.ToLower(strings.TrimSuffix(v, ".")))
	case "max_age":
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || len(v) > 10 {
			return fmt.Errorf("%w: max_age %q is not a number of seconds", ErrPolicy, v)
		}
		p.MaxAge = min(time.Duration(n)*time.Second, MaxMaxAge)
	}
	return nil
}

func (p *Policy) check(version string, hasMaxAge bool) error {
	switch {
	case version != "STSv1":
		return fmt.Errorf("%w: version %q, want STSv1", ErrPolicy, version)
	case p.Mode != Enforce && p.Mode != Testing && p.Mode != None:
		return fmt.Errorf("%w: mode %q, want enforce, testing or none", ErrPolicy, p.Mode)
	case !hasMaxAge:
		return fmt.Errorf("%w: no max_age", ErrPolicy)
	case len(p.MX) == 0 && p.Mode != None:
		return fmt.Errorf("%w: no mx", ErrPolicy)
	}
	return nil
}

// String writes the policy file, CRLF line ends (RFC 8461 section 3.2).
func (p *Policy) String() string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\nmode: " + p.Mode + "\r\n")
	for _, mx := range p.MX {
		b.WriteString("mx: " + mx + "\r\n")
	}
	fmt.Fprintf(&b, "max_age: %d\r\n", int64(p.MaxAge/time.Second))
	return b.String()
}

// MatchMX reports whether host (an MX host name, trailing dot allowed)
// matches one of the policy's patterns (RFC 8461 section 4.1): exactly, or
// "*.example.net" matching one extra leftmost label.
func (p *Policy) MatchMX(host string) bool {
	for _, pat := range p.MX {
		if MatchPattern(pat, host) {
			return true
		}
	}
	return false
}

// MatchPattern matches one pattern against host, case-insensitively.
func MatchPattern(pattern, host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	pattern = strings.ToLower(strings.TrimSuffix(pattern, "."))
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		_, parent, found := strings.Cut(host, ".")
		return found && parent == rest && !strings.HasPrefix(host, ".")
	}
	return host == pattern
}

func validPattern(v string) bool {
	v = strings.TrimPrefix(strings.TrimSuffix(v, "."), "*.")
	if v == "" || len(v) > 253 {
		return false
	}
	for _, label := range strings.Split(v, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i] | 0x20
			if !(c >= 'a' && c <= 'z' || label[i] >= '0' && label[i] <= '9' || label[i] == '-' || label[i] == '_') {
				return false
			}
		}
	}
	return true
}

// ID returns an id for the _mta-sts record that changes whenever the
// policy does (a digest of its text), so senders fetch a changed policy
// again (RFC 8461 section 3.1).
func (p *Policy) ID() string {
	sum := sha256.Sum256([]byte(p.String()))
	return hex.EncodeToString(sum[:8])
}
