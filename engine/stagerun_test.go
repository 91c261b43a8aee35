package engine

import (
	"context"
	"errors"
	"testing"
)

// failStage always fails, as a check whose DNS timed out.
type failStage struct{}

func (failStage) Namespace() string                        { return "rdns" }
func (failStage) Phase() Phase                             { return PhaseConnect }
func (failStage) Run(ctx context.Context, in *Input) error { return errors.New("dns: timeout") }
func (failStage) Fail(f *Facts, err error)                 { f.Rdns.Result = "temperror" }

// TestStageRuns: the journal learns each stage that ran, sorted by name,
// with its error.
func TestStageRuns(t *testing.T) {
	c, err := Compile(`dnsbl.listed or rdns.result == "temperror"`, true)
	if err != nil {
		t.Fatal(err)
	}
	p := &Pipeline{
		Rules:  []*Rule{{Name: "r", When: c, Score: 1}},
		Stages: map[string]Stage{"dnsbl": listStage{"dnsbl", PhaseConnect}, "rdns": failStage{}},
	}
	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	tx := p.Begin(NewMessage(Envelope{}, nil))
	if runs := tx.StageRuns(); len(runs) != 0 {
		t.Fatalf("stages before Evaluate: %+v", runs)
	}
	tx.Evaluate(context.Background(), PhaseData)
	runs := tx.StageRuns()
	if len(runs) != 2 || runs[0].Name != "dnsbl" || runs[0].Err != nil || runs[1].Name != "rdns" || runs[1].Err == nil {
		t.Fatalf("stage runs: %+v", runs)
	}
}
