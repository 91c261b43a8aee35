package rules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
)

// probeStage stands in the rdns namespace (the real rdns stage is not
// linked into this test binary): it counts its runs, can be slowed down, and
// sets rdns.fcrdns from its settings.
type probeStage struct {
	runs      *atomic.Int64
	delay     time.Duration
	names     []string
	reportDNS bool
}

var probeRuns atomic.Int64

type probeSettings struct {
	Delay     string   `yaml:"delay"`
	Names     []string `yaml:"names"`
	ReportDNS bool     `yaml:"report_dns"` // put the resolver's type in rdns.names
}

func init() {
	stages.Register("rdns", func(s stages.Settings) (engine.Stage, error) {
		var conf probeSettings
		if err := s.Decode(&conf); err != nil {
			return nil, err
		}
		p := &probeStage{runs: &probeRuns, names: conf.Names, reportDNS: conf.ReportDNS}
		if conf.Delay != "" {
			d, err := time.ParseDuration(conf.Delay)
			if err != nil {
				return nil, err
			}
			p.delay = d
		}
		return p, nil
	})
}

func (p *probeStage) Namespace() string   { return "rdns" }
func (p *probeStage) Phase() engine.Phase { return engine.PhaseConnect }
func (p *probeStage) Timeout() time.Duration {
	return 200 * time.Millisecond
}
func (p *probeStage) Run(ctx context.Context, in *engine.Input) error {
	p.runs.Add(1)
	if p.delay > 0 {
		select {
		case <-time.After(p.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	in.Facts.Rdns = engine.RDNSFacts{Result: "pass", FCrDNS: true, Names: p.names}
	if p.reportDNS {
		in.Facts.Rdns.Names = []string{fmt.Sprintf("%T", in.DNS)}
	}
	return nil
}
func (p *probeStage) Fail(f *engine.Facts, err error) {
	f.Rdns = engine.RDNSFacts{Result: "temperror"}
}

// writeDir writes files (name -> content) into a new temporary directory.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mustLoad loads a rule directory made of one inbound file.
func mustLoad(t *testing.T, rules string, extra ...string) *Set {
	t.Helper()
	files := map[string]string{"inbound.yaml": rules}
	for i := 0; i+1 < len(extra); i += 2 {
		files[extra[i]] = extra[i+1]
	}
	set, err := Load(writeDir(t, files), Options{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return set
}

// loadErrors loads rules that must fail and returns the errors.
func loadErrors(t *testing.T, rules string) []*Error {
	t.Helper()
	_, err := Load(writeDir(t, map[string]string{"inbound.yaml": rules}), Options{})
	if err == nil {
		t.Fatalf("load succeeded, want an error")
	}
	errs := Errors(err)
	if len(errs) == 0 {
		t.Fatalf("error %v is not a rules.Error", err)
	}
	return errs
}

const plainMsg = "From: Alice <alice@example.net>\r\nTo: bob@example.org\r\nSubject: hello there\r\nMessage-ID: <1@example.net>\r\n\r\nHi Bob, see https://www.example.com/x\r\n"

func eval(t *testing.T, p *engine.Pipeline, env engine.Envelope, raw string, phase engine.Phase) engine.Verdict {
	t.Helper()
	var b []byte
	if raw != "" {
		b = []byte(raw)
	}
	return p.Begin(engine.NewMessage(env, b)).Evaluate(context.Background(), phase)
}
