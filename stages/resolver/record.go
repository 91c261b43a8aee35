package resolver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Exchange is one recorded query and its outcome, in a form that prints
// as JSON and reads back: the verdict journal keeps every exchange a
// message's checks made so that `sluice explain` can show the answers and
// `sluice replay` can give them again.
type Exchange struct {
	Name    string   `json:"name"`              // as asked, lower-case FQDN
	Type    string   `json:"type"`              // A, TXT, PTR...
	Rcode   string   `json:"rcode"`             // success, nxdomain, nodata or temperror
	Records []string `json:"records,omitempty"` // answer records in master-file form
	TTL     uint32   `json:"ttl,omitempty"`     // seconds
	Error   string   `json:"error,omitempty"`   // the temporary failure
}

// rcodeTemp is the Rcode of a temporary failure.
const rcodeTemp = "temperror"

// Recorder is a Resolver that passes every query to another and keeps a
// copy of each answer. A recorder serves one message: make one per
// transaction. It is safe for concurrent use (stages run in parallel).
type Recorder struct {
	next Resolver
	mu   sync.Mutex
	log  []Exchange
	seen map[string]bool
}

// NewRecorder records the queries made through next.
func NewRecorder(next Resolver) *Recorder {
	return &Recorder{next: next, seen: map[string]bool{}}
}

// Query implements Resolver.
func (r *Recorder) Query(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	a, err := r.next.Query(ctx, name, qtype)
	x := newExchange(name, qtype, a, err)
	key := x.Name + "/" + x.Type
	r.mu.Lock()
	if !r.seen[key] {
		r.seen[key] = true
		r.log = append(r.log, x)
	}
	r.mu.Unlock()
	return a, err
}

// Exchanges returns a copy of what was recorded so far, in the order the
// queries were first made.
func (r *Recorder) Exchanges() []Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Exchange(nil), r.log...)
}

func newExchange(name string, qtype uint16, a *Answer, err error) Exchange {
	x := Exchange{Name: strings.ToLower(dns.Fqdn(name)), Type: dns.TypeToString[qtype]}
	if x.Type == "" {
		x.Type = fmt.Sprintf("TYPE%d", qtype)
	}
	if err != nil {
		x.Rcode, x.Error = rcodeTemp, err.Error()
		return x
	}
	x.Rcode = a.Status.String()
	x.TTL = uint32(a.TTL / time.Second)
	for _, rr := range a.Records {
		x.Records = append(x.Records, rr.String())
	}
	return x
}

// Answer turns a recorded exchange back into what Query returned: the
// answer, or a temporary failure wrapping ErrServFail (or ErrTimeout when
// that is what was recorded).
func (x Exchange) Answer() (*Answer, error) {
	switch x.Rcode {
	case rcodeTemp:
		if strings.Contains(x.Error, ErrTimeout.Error()) {
			return nil, fmt.Errorf("%s (recorded): %w", x.Error, ErrTimeout)
		}
		return nil, fmt.Errorf("%s (recorded): %w", x.Error, ErrServFail)
	case NXDomain.String():
		return &Answer{Status: NXDomain, TTL: time.Duration(x.TTL) * time.Second}, nil
	case NoData.String():
		return &Answer{Status: NoData, TTL: time.Duration(x.TTL) * time.Second}, nil
	case Success.String():
	default:
		return nil, fmt.Errorf("recorded answer for %s %s: unknown rcode %q", x.Name, x.Type, x.Rcode)
	}
	a := &Answer{Status: Success, TTL: time.Duration(x.TTL) * time.Second}
	for _, s := range x.Records {
		rr, err := dns.NewRR(s)
		if err != nil {
			return nil, fmt.Errorf("recorded answer for %s %s: %w", x.Name, x.Type, err)
		}
		a.Records = append(a.Records, rr)
	}
	return a, nil
}

// Unrecorded says how a Replay answers a question the recording never
// asked.
type Unrecorded string

// The answers to an unrecorded question.
const (
	UnrecordedTemperror Unrecorded = "temperror" // a temporary failure: checks say temperror
	UnrecordedNXDomain  Unrecorded = "nxdomain"  // the name does not exist
	UnrecordedLive      Unrecorded = "live"      // ask the live resolver
)

// ParseUnrecorded checks a --unrecorded value.
func ParseUnrecorded(s string) (Unrecorded, error) {
	switch u := Unrecorded(s); u {
	case UnrecordedTemperror, UnrecordedNXDomain, UnrecordedLive:
		return u, nil
	}
	return "", fmt.Errorf("unknown --unrecorded %q (want temperror, nxdomain or live)", s)
}

// ErrUnrecorded marks the temporary failure a Replay gives for a question
// the recording does not hold.
var ErrUnrecorded = errors.New("dns: question not in the recording")

// Replay is a Resolver that answers from recorded exchanges, with no
// network unless Live is set and the policy is UnrecordedLive. It notes
// each question it could not answer from the recording.
type Replay struct {
	byKey  map[string]Exchange
	policy Unrecorded
	live   Resolver

	mu      sync.Mutex
	missing []string
}

// NewReplay answers from xs; unrecorded questions follow policy, asking
// live for UnrecordedLive.
func NewReplay(xs []Exchange, policy Unrecorded, live Resolver) *Replay {
	r := &Replay{byKey: make(map[string]Exchange, len(xs)), policy: policy, live: live}
	for _, x := range xs {
		r.byKey[x.Name+"/"+x.Type] = x
	}
	return r
}

// Query implements Resolver.
func (r *Replay) Query(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	fqdn := strings.ToLower(dns.Fqdn(name))
	key := fqdn + "/" + dns.TypeToString[qtype]
	if x, ok := r.byKey[key]; ok {
		return x.Answer()
	}
	r.mu.Lock()
	r.missing = append(r.missing, fqdn+" "+dns.TypeToString[qtype])
	r.mu.Unlock()
	switch {
	case r.policy == UnrecordedNXDomain:
		return &Answer{Status: NXDomain}, nil
	case r.policy == UnrecordedLive && r.live != nil:
		return r.live.Query(ctx, name, qtype)
	}
	return nil, fmt.Errorf("%s %s: %w: %w", fqdn, dns.TypeToString[qtype], ErrUnrecorded, ErrServFail)
}

// Unrecorded returns the questions asked that the recording did not hold,
// in the order asked.
func (r *Replay) Unrecorded() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.missing...)
}
