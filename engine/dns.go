package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/miekg/dns"
)

// Resolver is the DNS the stages query. The engine only hands it to them:
// package stages/resolver implements it (the network client with its
// cache, zone files, recording and replaying) and adds the lookups the
// checks use. It is declared here so that the engine depends on no stage.
//
// Implementations are safe for concurrent use. A nil error means a
// definite answer (DNSSuccess, DNSNXDomain or DNSNoData); a non-nil error
// is a temporary failure, wrapping ErrDNSTimeout or ErrDNSServFail where
// it is one of those.
type Resolver interface {
	Query(ctx context.Context, name string, qtype uint16) (*DNSAnswer, error)
}

// DNSStatus classifies a DNS response that is not a temporary failure.
type DNSStatus int

// The definite outcomes of a query.
const (
	DNSSuccess  DNSStatus = iota // NOERROR with records of the asked type
	DNSNXDomain                  // the name does not exist (RCODE 3)
	DNSNoData                    // the name exists but has no records of the type
)

func (s DNSStatus) String() string {
	switch s {
	case DNSSuccess:
		return "success"
	case DNSNXDomain:
		return "nxdomain"
	case DNSNoData:
		return "nodata"
	}
	return "unknown"
}

// DNSAnswer is the definite result of one query.
type DNSAnswer struct {
	Status  DNSStatus
	Records []dns.RR      // answer records of the asked type (CNAMEs followed)
	TTL     time.Duration // how long the answer may be cached
}

// Temporary DNS failures. A check that gets one of these reports
// temperror, never a pass and never a fail.
var (
	ErrDNSTimeout  = errors.New("dns: timeout")
	ErrDNSServFail = errors.New("dns: server failure")
)

// ErrNoDNS marks the failures of NoDNS, which are by design (rule tests
// and dry runs without a zone file), so that checks need not log them as
// they log a real lookup failure. Such an error is also ErrDNSServFail.
var ErrNoDNS = errors.New("no DNS in this context")

// NoDNS is a resolver with no DNS at all: every query is a temporary
// failure, so checks say temperror instead of guessing. A transaction
// begun without a resolver uses it, as do rule tests without a zone file
// and dry runs without --dns, so that none of them depends on the network.
type NoDNS struct{}

// Query implements Resolver.
func (NoDNS) Query(ctx context.Context, name string, qtype uint16) (*DNSAnswer, error) {
	return nil, fmt.Errorf("%s: %w: %w", name, ErrNoDNS, ErrDNSServFail)
}
