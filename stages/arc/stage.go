// Package arc is the Authenticated Received Chain (RFC 8617): the "arc"
// stage validates the chain of ARC sets that forwarders (mailing lists,
// forwarding services) added to a message, so that a rule can accept a
// DMARC failure from a forwarder the administrator trusts; Sealer adds our
// own set to mail we forward, saying what we saw.
//
// ARC's signatures are DKIM's (RFC 6376): the same tag lists,
// canonicalizations and key records, with rsa-sha256 only. go-msgauth's
// DKIM package does not expose its canonicalization or header hashing
// apart from the DKIM-Signature field, so they are written here, checked
// against the ValiMail ARC test suite (all 175 validation cases, the 17
// signing cases byte for byte) and against dkimpy's ARC both ways.
//
// Facts: arc.chain (none, pass, fail; temperror when a key lookup failed
// temporarily), arc.sealers, arc.trusted (the chain passes and its newest
// sealer is listed in `trusted`, from the stage's settings or the server
// config's `arc: {trusted: [...]}`), arc.instances, arc.oldest_results,
// arc.newest_results, arc.reason.
package arc

import (
	"context"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
)

func init() { stages.Register("arc", New) }

// settings are the stage's: in a rule file's `stages: arc:` block and in
// the server config's `arc:` block (both lists count).
type settings struct {
	// Trusted are the sealer domains whose ARC results a rule may rely
	// on; a listed domain also covers its subdomains.
	Trusted []string `yaml:"trusted"`
}

// Stage validates ARC chains. It is safe for concurrent use.
type Stage struct {
	trusted []string
}

// New builds the stage.
func New(s stages.Settings) (engine.Stage, error) {
	var rule settings
	if err := s.Decode(&rule); err != nil {
		return nil, err
	}
	var server settings
	if len(s.Config) > 0 {
		if err := yaml.UnmarshalWithOptions(s.Config, &server); err != nil {
			return nil, fmt.Errorf("server config arc: %w", err)
		}
	}
	st := &Stage{}
	for _, d := range append(rule.Trusted, server.Trusted...) {
		d = strings.ToLower(strings.Trim(strings.TrimSpace(d), "."))
		if !validName(d) {
			return nil, fmt.Errorf("trusted: %q is not a domain", d)
		}
		st.trusted = append(st.trusted, d)
	}
	return st, nil
}

// Namespace implements engine.Stage.
func (*Stage) Namespace() string { return "arc" }

// Phase implements engine.Stage: the chain is in the header.
func (*Stage) Phase() engine.Phase { return engine.PhaseData }

// Needs implements engine.Dependent: ARC is what a rule consults when
// DMARC fails, and the seal we add reports SPF, DKIM and DMARC, so the
// chain is validated after them. That also keeps the order in which the
// checks of a message finish fixed.
func (*Stage) Needs() []string { return []string{"dmarc"} }

// Run implements engine.Stage.
func (st *Stage) Run(ctx context.Context, in *engine.Input) error {
	res := Verify(ctx, in.DNS, in.Msg.Raw)
	if err := ctx.Err(); err != nil {
		return err
	}
	in.Facts.ARC = st.Facts(res)
	return nil
}

// Facts turns a validation into the facts rules read.
func (st *Stage) Facts(res Result) engine.ARCFacts {
	f := engine.ARCFacts{Chain: res.Chain, Sealers: res.Sealers, Instances: res.Instances, Reason: res.Reason}
	if n := len(res.Results); n > 0 {
		f.OldestResults, f.NewestResults = res.Results[0], res.Results[n-1]
	}
	if res.Chain == ChainPass && len(res.Sealers) > 0 {
		f.Trusted = st.Trusts(res.Sealers[len(res.Sealers)-1])
	}
	return f
}

// Trusts reports whether domain is listed, or is a subdomain of a listed
// domain.
func (st *Stage) Trusts(domain string) bool {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	for _, t := range st.trusted {
		if domain == t || strings.HasSuffix(domain, "."+t) {
			return true
		}
	}
	return false
}

// Fail implements engine.Stage.
func (*Stage) Fail(f *engine.Facts, err error) {
	f.ARC = engine.ARCFacts{Chain: ChainTempError, Reason: err.Error()}
}
