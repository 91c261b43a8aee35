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

import "github.com/sluicemail/sluice/engine"

// Status classifies a DNS response that is not a temporary failure. The
// vocabulary is the engine's (engine.Resolver is the interface the stages
// are handed); these names keep the stages' code short.
type Status = engine.DNSStatus

// The definite outcomes of a query.
const (
	Success  = engine.DNSSuccess  // NOERROR with records of the asked type
	NXDomain = engine.DNSNXDomain // the name does not exist (RCODE 3)
	NoData   = engine.DNSNoData   // the name exists but has no records of the type
)

// Answer is the definite result of one query.
type Answer = engine.DNSAnswer

// Temporary failures. A check that gets one of these reports temperror,
// never a pass and never a fail.
var (
	ErrTimeout  = engine.ErrDNSTimeout
	ErrServFail = engine.ErrDNSServFail
)

// IsTemporary reports whether err is a temporary DNS failure (timeout,
// SERVFAIL, refused, network error), as opposed to a definite answer.
func IsTemporary(err error) bool { return err != nil }

// Resolver answers DNS queries: the engine's interface, which every
// resolver here implements.
type Resolver = engine.Resolver

// Offline is a resolver with no DNS at all: every query is a temporary
// failure, so checks say temperror instead of guessing. Rule tests without a
// zone file and dry runs without --dns use it, so that neither depends on
// the network.
type Offline = engine.NoDNS
