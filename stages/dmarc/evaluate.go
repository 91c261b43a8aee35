package dmarc

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/resolver"
	"golang.org/x/net/idna"
)

// The result words (RFC 8601 section 2.7.1 and RFC 7489 section 11.2).
const (
	ResultPass      = "pass"
	ResultFail      = "fail"
	ResultNone      = "none"
	ResultTempError = "temperror"
	ResultPermError = "permerror"
)

// Input is what DMARC evaluates for one message.
type Input struct {
	From      string          // the RFC5322.From domain
	SPF       engine.SPFFacts // the spf stage's facts
	DKIM      engine.DKIMFacts
	SampleKey string // what pct= sampling hashes: the Message-ID
}

// Evaluation is the outcome: the facts, plus where the record came from.
type Evaluation struct {
	engine.DMARCFacts
	PolicyDomain string  // the domain whose _dmarc record applied
	Record       *Record // nil when none applied
	Reason       string  // why the result is none, temperror or permerror
}

// Evaluate applies RFC 7489: policy discovery at the From domain, then at
// its Organizational Domain (section 6.6.3, where sp= applies), identifier
// alignment of SPF and DKIM (section 3.1), and pct= sampling (section
// 6.6.4: a message not sampled gets the next less strict policy). Sampling
// hashes SampleKey, so the same message always gets the same answer and
// dry runs are reproducible.
func Evaluate(ctx context.Context, r resolver.Resolver, in Input) Evaluation {
	from := strings.ToLower(strings.TrimSuffix(in.From, "."))
	ev := Evaluation{DMARCFacts: engine.DMARCFacts{Domain: from, OrgDomain: OrgDomain(from)}}
	if from == "" {
		return ev.finish(ResultPermError, "no RFC5322.From domain")
	}
	rec, at, err := discover(ctx, r, from, ev.OrgDomain)
	switch {
	case errors.Is(err, errTemporary):
		return ev.finish(ResultTempError, err.Error())
	case err != nil:
		return ev.finish(ResultNone, err.Error())
	}
	ev.Record, ev.PolicyDomain = rec, at
	ev.Policy = string(rec.Policy)
	if at != from && rec.SubdomainPolicy != "" {
		ev.Policy = string(rec.SubdomainPolicy)
	}
	ev.Sampled = sampled(rec, in.SampleKey)
	if !ev.Sampled {
		ev.Policy = downgrade(ev.Policy)
	}
	ev.align(in, rec)
	switch {
	case ev.AlignedSPF || ev.AlignedDKIM:
		ev.Result = ResultPass
	case ev.alignedTempError(in, rec):
		ev.Result, ev.Reason = ResultTempError, "an aligned identifier had a temporary error"
	default:
		ev.Result = ResultFail
	}
	return ev
}

func (ev Evaluation) finish(result, reason string) Evaluation {
	ev.Result, ev.Reason = result, reason
	return ev
}

// align sets AlignedSPF and AlignedDKIM: only an identifier whose own
// check passed can align (RFC 7489 section 4.2).
func (ev *Evaluation) align(in Input, rec *Record) {
	ev.AlignedSPF = in.SPF.Result == "pass" && aligned(in.SPF.Domain, ev.Domain, rec.SPFAlignment == "s")
	for _, d := range in.DKIM.PassDomains {
		ev.AlignedDKIM = ev.AlignedDKIM || aligned(d, ev.Domain, rec.DKIMAlignment == "s")
	}
}

// alignedTempError: with no aligned pass, a temporary error on an
// identifier that would have aligned means a retry could pass.
func (ev *Evaluation) alignedTempError(in Input, rec *Record) bool {
	if in.SPF.Result == ResultTempError && aligned(in.SPF.Domain, ev.Domain, rec.SPFAlignment == "s") {
		return true
	}
	for _, r := range in.DKIM.Results {
		if r.Result == ResultTempError && aligned(r.Domain, ev.Domain, rec.DKIMAlignment == "s") {
			return true
		}
	}
	return false
}

func sampled(rec *Record, key string) bool {
	if rec.Percent == nil || *rec.Percent >= 100 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(h.Sum64()%100) < *rec.Percent
}

func downgrade(p string) string {
	switch p {
	case "reject":
		return "quarantine"
	case "quarantine":
		return "none"
	}
	return p
}

var (
	errTemporary = errors.New("temporary DNS failure")
	errNoRecord  = errors.New("no DMARC record")
)

// discover finds the record that applies (RFC 7489 section 6.6.3): at the
// From domain, else at the Organizational Domain. Several DMARC records, or
// an invalid one, at the first name found end discovery with no policy.
func discover(ctx context.Context, r resolver.Resolver, from, org string) (*Record, string, error) {
	rec, err := lookup(ctx, r, from)
	if !errors.Is(err, errNoRecord) || org == "" || org == from {
		return rec, from, err
	}
	rec, err = lookup(ctx, r, org)
	return rec, org, err
}

func lookup(ctx context.Context, r resolver.Resolver, domain string) (*Record, error) {
	// An internationalized From domain is asked for in its A-label form.
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil {
		return nil, fmt.Errorf("%q: %w: not a valid domain name: %v", domain, errNoRecord, err)
	}
	name := "_dmarc." + ascii
	txts, _, err := resolver.LookupTXT(ctx, r, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, errTemporary, err)
	}
	var found []*Record
	var invalid error
	for _, t := range txts {
		rec, err := Parse(t)
		switch {
		case errors.Is(err, ErrNotDMARC):
			continue // step 3: not a DMARC record at all
		case err != nil:
			invalid = err
		}
		found = append(found, rec)
	}
	switch {
	case len(found) == 0:
		return nil, fmt.Errorf("%s: %w", name, errNoRecord)
	case len(found) > 1:
		return nil, fmt.Errorf("%s: %d DMARC records, none applies", name, len(found))
	case invalid != nil:
		return nil, fmt.Errorf("%s: %w", name, invalid)
	}
	return found[0], nil
}
