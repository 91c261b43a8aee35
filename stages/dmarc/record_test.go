package dmarc

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	msgdmarc "github.com/emersion/go-msgauth/dmarc"
	"github.com/goccy/go-yaml"
)

type recordCase struct {
	ID      string         `yaml:"id"`
	Record  string         `yaml:"record"`
	Valid   any            `yaml:"valid"`
	Expect  map[string]any `yaml:"expect"`
	RFC9989 any            `yaml:"rfc9989"`
}

// TestRecordParsing runs testdata/record-parsing.yml (RFC 7489 model).
func TestRecordParsing(t *testing.T) {
	b, err := os.ReadFile("testdata/record-parsing.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []recordCase `yaml:"cases"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 40 {
		t.Fatalf("only %d cases", len(file.Cases))
	}
	for _, c := range file.Cases {
		t.Run(c.ID, func(t *testing.T) {
			if c.RFC9989 != nil {
				t.Logf("%s: RFC 9989 variant not checked (sluice parses records by RFC 7489): %v", c.ID, c.RFC9989)
			}
			rec, err := Parse(c.Record)
			valid, isBool := c.Valid.(bool)
			if !isBool {
				// duplicate-tag: implementation-defined. Ours: the first
				// value wins, as for every repeated tag.
				if err != nil || rec.Policy != "none" {
					t.Errorf("%q: first p= should win: %v %+v", c.Record, err, rec)
				}
				t.Logf("%s: valid is %q; sluice keeps the first value of a repeated tag", c.ID, c.Valid)
				return
			}
			if !valid {
				if err == nil {
					t.Fatalf("%q parsed as %+v, want invalid", c.Record, rec)
				}
				if !errors.Is(err, ErrNotDMARC) && !errors.Is(err, ErrInvalid) {
					t.Errorf("error %v is neither ErrNotDMARC nor ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%q: %v", c.Record, err)
			}
			for k, want := range c.Expect {
				if got := field(rec, k); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s = %v, want %v", k, got, want)
				}
			}
		})
	}
}

// field returns a record value in the YAML's terms, defaults applied
// (RFC 7489 section 6.3).
func field(r *Record, k string) any {
	switch k {
	case "p":
		return string(r.Policy)
	case "sp":
		if r.SubdomainPolicy == "" {
			return string(r.Policy)
		}
		return string(r.SubdomainPolicy)
	case "adkim":
		return string(r.DKIMAlignment)
	case "aspf":
		return string(r.SPFAlignment)
	case "pct":
		if r.Percent == nil {
			return 100
		}
		return *r.Percent
	case "fo":
		var out []string
		for i, name := range []string{"0", "1", "d", "s"} {
			if r.FailureOptions&(msgdmarc.FailureAll<<i) != 0 {
				out = append(out, name)
			}
		}
		if out == nil {
			out = []string{"0"}
		}
		return out
	case "rf":
		if len(r.ReportFormat) == 0 {
			return []string{"afrf"}
		}
		return r.ReportFormat
	case "ri":
		if r.ReportInterval == 0 {
			return 86400
		}
		return int(r.ReportInterval / time.Second)
	case "rua":
		return r.ReportURIAggregate
	case "ruf":
		return r.ReportURIFailure
	case "rua_max_size":
		var out []string
		for _, e := range r.ReportURIAggregate {
			if _, n, _ := ReportURI(e); n > 0 {
				out = append(out, fmt.Sprint(n))
			} else {
				out = append(out, "<nil>")
			}
		}
		return "[" + strings.Join(out, " ") + "]"
	}
	return fmt.Sprintf("unknown key %q", k)
}
