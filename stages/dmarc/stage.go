// Package dmarc is the DMARC check (RFC 7489): the "dmarc" stage looks up
// the policy of the From domain through the shared resolver, falling back
// to its Organizational Domain (Public Suffix List, golang.org/x/net/
// publicsuffix), checks whether SPF or DKIM passed for an aligned domain
// (relaxed or strict), and applies p=, sp= and pct=. Records are parsed by
// go-msgauth's dmarc package after the RFC 7489 section 6.3 cleaning in
// Parse. RFC 9989 (DMARCbis: tree walk, np=, psd=, t=) is not implemented.
//
// Results: pass (an aligned identifier passed), fail, none (no usable
// record), temperror (the record lookup failed temporarily, or an aligned
// identifier had a temporary error and none passed), permerror (no usable
// From domain: missing, or several domains). The policy is "" when no
// record applies (none, or a temperror of the record lookup).
package dmarc

import (
	"context"
	"log/slog"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
)

func init() { stages.Register("dmarc", New) }

// Stage evaluates DMARC. It has no settings. It is safe for concurrent use.
type Stage struct{}

// New builds the stage; its settings block must be empty.
func New(s stages.Settings) (engine.Stage, error) {
	var none struct{}
	if err := s.Decode(&none); err != nil {
		return nil, err
	}
	return Stage{}, nil
}

// Namespace implements engine.Stage.
func (Stage) Namespace() string { return "dmarc" }

// Phase implements engine.Stage: the From header comes with DATA.
func (Stage) Phase() engine.Phase { return engine.PhaseData }

// Needs implements engine.Dependent: alignment reads the SPF and DKIM
// results, so the engine runs those stages first.
func (Stage) Needs() []string { return []string{"spf", "dkim"} }

// Run implements engine.Stage.
func (Stage) Run(ctx context.Context, in *engine.Input) error {
	h := in.Msg.Header()
	ev := Evaluate(ctx, in.DNS, Input{
		From:      authorDomain(h),
		SPF:       in.Facts.SPF,
		DKIM:      in.Facts.DKIM,
		SampleKey: sampleKey(h, in.Msg.Raw),
	})
	if ev.Reason != "" {
		slog.Debug("dmarc", "result", ev.Result, "domain", ev.Domain, "reason", ev.Reason)
	}
	in.Facts.DMARC = ev.DMARCFacts
	return nil
}

// Fail implements engine.Stage.
func (Stage) Fail(f *engine.Facts, err error) {
	f.DMARC = engine.DMARCFacts{Result: ResultTempError}
}

// authorDomain returns the RFC5322.From domain, or "" when there is none or
// the From field names several domains (RFC 7489 section 6.6.1 leaves those
// to the receiver; they get permerror).
func authorDomain(h *engine.Header) string {
	addrs, _ := h.Addresses("From")
	domain := ""
	for _, a := range addrs {
		d := engine.DomainOf(a.Address)
		if d == "" || domain != "" && d != domain {
			return ""
		}
		domain = d
	}
	return domain
}

// sampleKey is what pct= sampling hashes: the Message-ID, or the whole
// message when it has none, so a message is sampled the same way every
// time it is evaluated.
func sampleKey(h *engine.Header, raw []byte) string {
	if id := h.Raw("Message-ID"); id != "" {
		return id
	}
	return string(raw)
}
