package dkim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/sluicemail/sluice/stages/resolver"
)

// errBadName is returned, without any query, for a name that is not a valid
// DNS name: a d= or s= tag like "legitimate.com(.attacker.com" must be
// rejected before it reaches the resolver (RFC 6376 section 3.5, d= is a
// domain-name).
var errBadName = errors.New("not a valid domain name")

// txtLookup returns a go-msgauth style lookup function (no context) that
// asks r, with ctx bound, for the TXT records at a name. go-msgauth tells a
// temporary failure from a permanent one by asserting net.Error and calling
// Temporary, so temporary failures are returned as *net.DNSError with
// IsTemporary set, and a missing name as one with IsNotFound set.
func txtLookup(ctx context.Context, r resolver.Resolver) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		if !validName(name) {
			return nil, fmt.Errorf("%q: %w", name, errBadName)
		}
		txts, status, err := resolver.LookupTXT(ctx, r, name)
		if err != nil {
			return nil, &net.DNSError{Err: err.Error(), Name: name, IsTemporary: true,
				IsTimeout: errors.Is(err, resolver.ErrTimeout)}
		}
		switch status {
		case resolver.NXDomain:
			return nil, &net.DNSError{Err: "no such domain", Name: name, IsNotFound: true}
		case resolver.NoData:
			return nil, &net.DNSError{Err: "no TXT record", Name: name, IsNotFound: true}
		}
		// The strings of one record are already joined (RFC 6376 section
		// 3.6.2.2); several records are a permerror in go-msgauth.
		return txts, nil
	}
}

// validName reports whether name is a host-style domain name: labels of
// letters, digits, hyphens and underscores (selectors and _domainkey use
// them), 1 to 63 bytes each, 253 in all.
func validName(name string) bool {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			default:
				return false
			}
		}
	}
	return true
}
