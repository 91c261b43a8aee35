// Package resolver is the one DNS resolver every stage uses (built on
// github.com/miekg/dns): the Resolver interface; Client, the network
// resolver (UDP with TCP on truncation per RFC 1035 section 4.2.1 and
// RFC 7766, retries, a cache honouring TTLs and RFC 2308 negative caching,
// a bound on queries in flight, single-flight for identical queries); Zone,
// which answers from RFC 1035 master files with no network; and the
// lookups the checks need (LookupTXT, LookupIP, LookupPTR, LookupMX with
// the RFC 7505 null MX). Results keep apart what RFC 7208, RFC 7489 and
// RFC 5782 treat differently: an answer, NXDOMAIN, no data (NOERROR with
// an empty answer), and the temporary failures (server failure, timeout).
// Package dnstest runs an in-process server on the same zone data.
package resolver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/miekg/dns"
)

// Status classifies a DNS response that is not a temporary failure.
type Status int

// The definite outcomes of a query.
const (
	Success  Status = iota // NOERROR with records of the asked type
	NXDomain               // the name does not exist (RCODE 3)
	NoData                 // the name exists but has no records of the type
)

func (s Status) String() string {
	switch s {
	case Success:
		return "success"
	case NXDomain:
		return "nxdomain"
	case NoData:
		return "nodata"
	}
	return "unknown"
}

// Answer is the definite result of one query.
type Answer struct {
	Status  Status
	Records []dns.RR      // answer records of the asked type (CNAMEs followed)
	TTL     time.Duration // how long the answer may be cached
}

// Temporary failures. A check that gets one of these reports temperror,
// never a pass and never a fail.
var (
	ErrTimeout  = errors.New("dns: timeout")
	ErrServFail = errors.New("dns: server failure")
)

// IsTemporary reports whether err is a temporary DNS failure (timeout,
// SERVFAIL, refused, network error), as opposed to a definite answer.
func IsTemporary(err error) bool { return err != nil }

// Resolver answers DNS queries. Implementations are safe for concurrent use.
// A nil error means a definite answer (Success, NXDomain or NoData); a
// non-nil error is a temporary failure that wraps ErrTimeout or ErrServFail
// where it is one of those.
type Resolver interface {
	Query(ctx context.Context, name string, qtype uint16) (*Answer, error)
}

// Offline is a resolver with no DNS at all: every query is a temporary
// failure, so checks say temperror instead of guessing. Rule tests without a
// zone file and dry runs without --dns use it, so that neither depends on
// the network.
type Offline struct{}

// Query implements Resolver.
func (Offline) Query(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	return nil, fmt.Errorf("%s: no DNS in this context: %w", name, ErrServFail)
}
