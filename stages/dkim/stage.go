// Package dkim is the DKIM check (RFC 6376, with Ed25519 keys per RFC 8463
// and the RFC 8301 algorithm rules): the "dkim" stage verifies every
// DKIM-Signature of an incoming message, and Signer signs outgoing mail.
// Cryptography and canonicalization are github.com/emersion/go-msgauth/dkim;
// key records are fetched through the shared resolver.
//
// Results per signature use the RFC 8601 words: pass; fail (the signature
// or body hash does not verify, or an l= tag that go-msgauth refuses);
// permerror (bad signature syntax, a key record that is missing, malformed,
// revoked with an empty p=, or of the wrong type, an expired x=); temperror
// (the key lookup failed temporarily); neutral (not verified because of the
// bound on signatures per message).
package dkim

import (
	"context"
	"fmt"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
)

func init() { stages.Register("dkim", New) }

// Settings is the `stages: {dkim: ...}` block of a rule file.
type Settings struct {
	// MaxSignatures bounds the signatures verified per message (default
	// DefaultMaxSignatures).
	MaxSignatures int `yaml:"max_signatures"`
}

// Stage verifies DKIM signatures. It is safe for concurrent use.
type Stage struct {
	max int
}

// New builds the stage from its settings.
func New(s stages.Settings) (engine.Stage, error) {
	var set Settings
	if err := s.Decode(&set); err != nil {
		return nil, err
	}
	if set.MaxSignatures < 0 {
		return nil, fmt.Errorf("max_signatures must not be negative")
	}
	return &Stage{max: set.MaxSignatures}, nil
}

// Namespace implements engine.Stage.
func (*Stage) Namespace() string { return "dkim" }

// Phase implements engine.Stage: signatures are in the message text.
func (*Stage) Phase() engine.Phase { return engine.PhaseData }

// Run implements engine.Stage.
func (s *Stage) Run(ctx context.Context, in *engine.Input) error {
	// A lookup cut short by ctx already shows as temperror in its
	// signature's result, so the per-signature results are kept.
	in.Facts.DKIM = verify(ctx, in.DNS, in.Msg, s.max)
	return nil
}

// Fail implements engine.Stage: a stage that could not finish reports
// temperror, never a silent pass or fail.
func (*Stage) Fail(f *engine.Facts, err error) {
	f.DKIM = engine.DKIMFacts{Result: ResultTempError}
}
