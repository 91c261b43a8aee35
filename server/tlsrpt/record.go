package tlsrpt

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrRecord is wrapped by every _smtp._tls record syntax error.
var ErrRecord = errors.New("tlsrpt: invalid _smtp._tls record")

// Record is a domain's reporting policy (RFC 8460 section 3): where to
// send reports.
type Record struct {
	RUA []*url.URL // mailto: and https: addresses, in order
}

// ParseRecord parses "v=TLSRPTv1; rua=mailto:a@example.com,https://..."
// (section 3): the version first, then fields; rua is required and holds
// one or more URIs separated by commas. URIs of other schemes are
// ignored, as section 3 allows; a record left with none is an error.
func ParseRecord(txt string) (*Record, error) {
	fields := strings.Split(txt, ";")
	if strings.TrimSpace(fields[0]) != "v=TLSRPTv1" {
		return nil, fmt.Errorf("%w: %q does not begin with v=TLSRPTv1", ErrRecord, txt)
	}
	var rec Record
	seen := false
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok || strings.TrimSpace(k) != "rua" || seen {
			continue
		}
		seen = true
		for _, u := range strings.Split(v, ",") {
			p, err := url.Parse(strings.TrimSpace(u))
			if err != nil {
				return nil, fmt.Errorf("%w: rua %q: %v", ErrRecord, u, err)
			}
			if usable(p) {
				rec.RUA = append(rec.RUA, p)
			}
		}
	}
	if len(rec.RUA) == 0 {
		return nil, fmt.Errorf("%w: no mailto: or https: rua", ErrRecord)
	}
	return &rec, nil
}

func usable(u *url.URL) bool {
	switch u.Scheme {
	case "mailto":
		return strings.Contains(u.Opaque, "@")
	case "https":
		return u.Host != ""
	}
	return false
}

// PickRecord chooses among the TXT strings at _smtp._tls.<domain>: the
// ones beginning with v=TLSRPTv1 must be exactly one (section 3).
func PickRecord(txts []string) (*Record, error) {
	var found []string
	for _, t := range txts {
		if strings.HasPrefix(t, "v=TLSRPTv1") {
			found = append(found, t)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("%w: %d records begin with v=TLSRPTv1, want 1", ErrRecord, len(found))
	}
	return ParseRecord(found[0])
}
