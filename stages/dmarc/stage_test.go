package dmarc

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
	"github.com/sluicemail/sluice/stages/dkim"
	"github.com/sluicemail/sluice/stages/resolver"
)

// spfStage stands in for the spf stage (another package): it reports a
// fixed SPF result.
type spfStage struct {
	facts engine.SPFFacts
}

func (*spfStage) Namespace() string         { return "spf" }
func (*spfStage) Phase() engine.Phase       { return engine.PhaseMail }
func (*spfStage) Fail(*engine.Facts, error) {}
func (s *spfStage) Run(_ context.Context, in *engine.Input) error {
	in.Facts.SPF = s.facts
	return nil
}

const stageMsg = "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: hi\r\nMessage-ID: <%d@example.org>\r\n\r\nHello.\r\n"

type fixture struct {
	zone   *resolver.Zone
	signer *dkim.Signer
}

func newFixture(t *testing.T, dmarcRecord string) fixture {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := dkim.TXTRecord("example.org", "s", key.Public())
	zone, err := resolver.ParseZone(rec + "\n_dmarc.example.org. IN TXT \"" + dmarcRecord + "\"\n")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := dkim.NewSigner(nil)
	if err := s.Add("example.org", "s", key); err != nil {
		t.Fatal(err)
	}
	return fixture{zone, s}
}

// run evaluates raw through a pipeline whose only rule reads dmarc.*: the
// engine must run spf and dkim first (Needs).
func run(t *testing.T, z resolver.Resolver, spf engine.SPFFacts, raw []byte) engine.Facts {
	t.Helper()
	dk, err := stages.New("dkim", stages.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	dm, err := stages.New("dmarc", stages.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	when, err := engine.Compile(`dmarc.result == "fail" and dmarc.policy == "reject"`, true)
	if err != nil {
		t.Fatal(err)
	}
	p := &engine.Pipeline{Name: "inbound",
		Stages: map[string]engine.Stage{"spf": &spfStage{facts: spf}, "dkim": dk, "dmarc": dm},
		Rules:  []*engine.Rule{{Name: "dmarc-reject", When: when, Action: engine.Action{Kind: engine.ActionReject, Code: 550}}}}
	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	tx := p.Begin(engine.NewMessage(engine.Envelope{MailFrom: "bounce@example.org"}, raw), engine.WithResolver(z))
	v := tx.Evaluate(context.Background(), engine.PhaseData)
	f := *tx.Facts()
	if (v.Action == engine.ActionReject) != (f.DMARC.Result == ResultFail && f.DMARC.Policy == "reject") {
		t.Errorf("verdict %s does not follow facts %+v", v.Action, f.DMARC)
	}
	return f
}

func TestStage(t *testing.T) {
	msg := []byte(fmt.Sprintf(stageMsg, 1))
	noSPF := engine.SPFFacts{Result: "none"}
	cases := []struct {
		name        string
		raw         []byte
		sign        bool
		spf         engine.SPFFacts
		zone        func(*resolver.Zone)
		result      string
		policy      string
		spfA, dkimA bool
	}{
		{"dkim aligned", msg, true, noSPF, nil, ResultPass, "reject", false, true},
		{"spf aligned", msg, false, engine.SPFFacts{Result: "pass", Domain: "bounces.example.org"}, nil, ResultPass, "reject", true, false},
		{"both", msg, true, engine.SPFFacts{Result: "pass", Domain: "example.org"}, nil, ResultPass, "reject", true, true},
		{"unaligned", msg, false, engine.SPFFacts{Result: "pass", Domain: "elsewhere.example"}, nil, ResultFail, "reject", false, false},
		{"record servfail", msg, true, noSPF, func(z *resolver.Zone) { z.Fail("_dmarc.example.org", resolver.ErrServFail) }, ResultTempError, "", false, false},
		{"key timeout", msg, true, noSPF, func(z *resolver.Zone) { z.Fail("s._domainkey.example.org", resolver.ErrTimeout) }, ResultTempError, "reject", false, false},
		{"spf temperror", msg, false, engine.SPFFacts{Result: "temperror", Domain: "example.org"}, nil, ResultTempError, "reject", false, false},
		{"no from", []byte("To: bob@example.net\r\n\r\nx\r\n"), false, noSPF, nil, ResultPermError, "", false, false},
		{"two from domains", []byte("From: a@example.org, b@example.com\r\n\r\nx\r\n"), false, noSPF, nil, ResultPermError, "", false, false},
		{"no record", []byte("From: a@nodmarc.example\r\n\r\nx\r\n"), false, noSPF, nil, ResultNone, "", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, "v=DMARC1; p=reject")
			raw := tc.raw
			if tc.sign {
				var err error
				if raw, err = fx.signer.Sign(raw); err != nil {
					t.Fatal(err)
				}
			}
			if tc.zone != nil {
				tc.zone(fx.zone)
			}
			f := run(t, fx.zone, tc.spf, raw)
			d := f.DMARC
			if d.Result != tc.result || d.Policy != tc.policy || d.AlignedSPF != tc.spfA || d.AlignedDKIM != tc.dkimA {
				t.Errorf("%+v (dkim %+v)", d, f.DKIM)
			}
			if f.DKIM.Result == "" || f.SPF.Result == "" {
				t.Error("spf or dkim did not run before dmarc")
			}
		})
	}
}

// TestSampling: pct= picks messages by a hash of the Message-ID, so the
// same message always gets the same answer, and about pct% are picked.
func TestSampling(t *testing.T) {
	fx := newFixture(t, "v=DMARC1; p=reject; pct=30")
	picked := 0
	for i := 0; i < 400; i++ {
		raw := []byte(fmt.Sprintf(stageMsg, i))
		in := Input{From: "example.org", SPF: engine.SPFFacts{Result: "fail"}, SampleKey: sampleKey(parseHeader(raw), raw)}
		a := Evaluate(context.Background(), fx.zone, in)
		b := Evaluate(context.Background(), fx.zone, in)
		if a.Sampled != b.Sampled || a.Policy != b.Policy {
			t.Fatalf("message %d sampled differently: %+v %+v", i, a, b)
		}
		if a.Sampled {
			picked++
			if a.Policy != "reject" {
				t.Errorf("sampled with policy %s", a.Policy)
			}
		} else if a.Policy != "quarantine" {
			t.Errorf("not sampled with policy %s, want quarantine", a.Policy)
		}
	}
	if picked < 80 || picked > 160 {
		t.Errorf("%d of 400 sampled at pct=30", picked)
	}
}

func parseHeader(raw []byte) *engine.Header {
	return engine.NewMessage(engine.Envelope{}, raw).Header()
}

func TestSettings(t *testing.T) {
	if _, err := New(stages.Settings{Raw: []byte("policy: strict")}); err == nil {
		t.Error("unknown setting accepted")
	}
	var f engine.Facts
	Stage{}.Fail(&f, context.DeadlineExceeded)
	if f.DMARC.Result != ResultTempError {
		t.Error("Fail did not record temperror")
	}
}
