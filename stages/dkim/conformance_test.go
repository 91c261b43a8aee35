package dkim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/resolver"
)

// expectedFile is testdata/expected.yml (README section 2).
type expectedFile struct {
	Messages map[string]struct {
		VerifyAt   int64 `yaml:"verify_at"`
		Signatures []struct {
			D      string `yaml:"d"`
			S      string `yaml:"s"`
			A      string `yaml:"a"`
			Result string `yaml:"result"`
			Reason string `yaml:"reason"`
			Resign string `yaml:"resign"`
		} `yaml:"signatures"`
	} `yaml:"messages"`
	Unsigned []string `yaml:"unsigned"`
}

func loadExpected(t *testing.T) expectedFile {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.yml")
	if err != nil {
		t.Fatal(err)
	}
	var e expectedFile
	if err := yaml.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if len(e.Messages) < 10 {
		t.Fatalf("expected.yml: only %d messages", len(e.Messages))
	}
	return e
}

func keysZone(t testing.TB) *resolver.Zone {
	t.Helper()
	z, err := resolver.LoadZoneFile("testdata/keys.zone")
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// countingResolver counts the queries that reach the zone.
type countingResolver struct {
	resolver.Resolver
	n atomic.Int32
}

func (c *countingResolver) Query(ctx context.Context, name string, qtype uint16) (*resolver.Answer, error) {
	c.n.Add(1)
	return c.Resolver.Query(ctx, name, qtype)
}

// TestConformance verifies every signature of every message in
// expected.yml against keys.zone.
func TestConformance(t *testing.T) {
	exp := loadExpected(t)
	zone := keysZone(t)
	for name, m := range exp.Messages {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			if rest, ok := bytes.CutPrefix(raw, []byte("\r\n")); ok {
				// Two fixtures begin with an empty line (a leftover of the
				// Go raw string they were taken from): as bytes that is a
				// message with no header at all. The signed message is
				// what follows it.
				t.Logf("%s: fixture starts with an empty line; verifying the message after it", name)
				raw = rest
			}
			cr := &countingResolver{Resolver: zone}
			f := Verify(context.Background(), cr, raw, 0)
			if len(f.Results) != len(m.Signatures) {
				t.Fatalf("got %d results %+v, want %d", len(f.Results), f.Results, len(m.Signatures))
			}
			if len(m.Signatures) == 0 && f.Result != ResultNone {
				t.Errorf("unsigned message: result %q, want none", f.Result)
			}
			for i, want := range m.Signatures {
				got := f.Results[i]
				if got.Domain != strings.ToLower(want.D) || got.Selector != want.S || got.Algorithm != want.A {
					t.Errorf("sig %d: got d=%s s=%s a=%s, want d=%s s=%s a=%s", i, got.Domain, got.Selector, got.Algorithm, want.D, want.S, want.A)
				}
				wantResult := want.Result
				if m.VerifyAt != 0 {
					// With today's clock the signature has expired, which
					// expected.yml gives as permerror (RFC 6376 section 3.5).
					wantResult = ResultPermError
					if !strings.Contains(got.Reason, "expired") {
						t.Errorf("sig %d: reason %q, want an expiry", i, got.Reason)
					}
				}
				if got.Result != wantResult {
					t.Errorf("sig %d (d=%s s=%s): result %s (%s), want %s (%s)", i, want.D, want.S, got.Result, got.Reason, wantResult, want.Reason)
				}
			}
			if m.VerifyAt != 0 {
				// At verify_at, through go-msgauth's clock (clock_test.go).
				var at engine.DKIMFacts
				atClock(time.Unix(m.VerifyAt, 0), func() { at = Verify(context.Background(), zone, raw, 0) })
				for i, want := range m.Signatures {
					if at.Results[i].Result != want.Result {
						t.Errorf("sig %d at verify_at=%d: %s (%s), want %s", i, m.VerifyAt, at.Results[i].Result, at.Results[i].Reason, want.Result)
					}
				}
			}
			if strings.Contains(name, "baddomain") && cr.n.Load() != 0 {
				t.Errorf("invalid d= reached the resolver (%d queries)", cr.n.Load())
			}
		})
	}
}
