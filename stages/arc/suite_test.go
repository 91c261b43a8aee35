package arc

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/sluicemail/sluice/stages/dkim"
	"github.com/sluicemail/sluice/stages/resolver"
)

// The ValiMail ARC test suite (testdata/README.md): every validation case
// gives the expected chain result, and every signing case the exact seal
// that a signer with the suite's key, clock and header list must write.

type suiteScenario struct {
	Description string            `yaml:"description"`
	Tests       yaml.MapSlice     `yaml:"tests"` // ordered: the suite repeats four case names
	TXT         map[string]string `yaml:"txt-records"`
	Domain      string            `yaml:"domain"`
	Sel         string            `yaml:"sel"`
	PrivateKey  string            `yaml:"privatekey"`
	Comment     string            `yaml:"comment"`
}

type suiteCase struct {
	Name, Message, CV, SigHeaders, SrvID, AS, AMS, AAR, Desc string
	T                                                        int64
}

// cases reads the tests of a scenario in order, duplicates included.
func (s suiteScenario) cases(t *testing.T) []suiteCase {
	t.Helper()
	var out []suiteCase
	for _, item := range s.Tests {
		m, ok := item.Value.(map[string]any)
		if !ok {
			t.Fatalf("case %v is not a mapping", item.Key)
		}
		str := func(k string) string { v, _ := m[k].(string); return v }
		c := suiteCase{Name: item.Key.(string), Message: str("message"), CV: str("cv"), SigHeaders: str("sig-headers"),
			SrvID: str("srv-id"), AS: str("AS"), AMS: str("AMS"), AAR: str("AAR"), Desc: str("description")}
		switch v := m["t"].(type) {
		case uint64:
			c.T = int64(v)
		case int64:
			c.T = v
		}
		out = append(out, c)
	}
	return out
}

func loadSuite(t *testing.T, path string) []suiteScenario {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []suiteScenario
	dec := yaml.NewDecoder(f, yaml.AllowDuplicateMapKey())
	for {
		var s suiteScenario
		err := dec.Decode(&s)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(s.Tests) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// suiteZone serves the scenario's key records, each split into the
// 255-byte strings a TXT record holds.
func suiteZone(t *testing.T, records map[string]string) *resolver.Zone {
	t.Helper()
	z := resolver.NewZone()
	for name, v := range records {
		var parts []string
		for v != "" {
			n := min(255, len(v))
			parts = append(parts, v[:n])
			v = v[n:]
		}
		z.Add(resolver.NewTXT(name, 300, parts...))
	}
	return z
}

func TestValidationSuite(t *testing.T) {
	scenarios := loadSuite(t, "testdata/arc-draft-validation-tests.yml")
	total := 0
	for _, sc := range scenarios {
		z := suiteZone(t, sc.TXT)
		for _, tc := range sc.cases(t) {
			name := tc.Name
			total++
			want := strings.ToLower(strings.TrimSpace(tc.CV))
			if want == "" {
				// Three cases leave cv empty: a chain whose newest seal
				// says cv=fail, which a validator reports as fail.
				want = ChainFail
			}
			res := Verify(context.Background(), z, []byte(tc.Message))
			if res.Chain != want {
				t.Errorf("%s (%s): chain %s (%s), want %s", name, tc.Desc, res.Chain, res.Reason, want)
			}
		}
	}
	// The suite's README counts 171 names; four are written twice
	// (as_fields_b_head_case and three more), and both copies run.
	if total != 175 {
		t.Errorf("ran %d validation cases, the suite has 175", total)
	}
}

func TestSigningSuite(t *testing.T) {
	scenarios := loadSuite(t, "testdata/arc-draft-sign-tests.yml")
	total := 0
	for _, sc := range scenarios {
		z := suiteZone(t, sc.TXT)
		key, err := dkim.ParseKey([]byte(sc.PrivateKey))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range sc.cases(t) {
			name := tc.Name
			total++
			s := &Sealer{Domain: sc.Domain, Selector: sc.Sel, Key: key.(*rsa.PrivateKey), AuthServID: tc.SrvID,
				Headers: strings.Split(tc.SigHeaders, ":"), Now: func() time.Time { return time.Unix(tc.T, 0) }}
			msg := toCRLF([]byte(tc.Message))
			out, err := s.Seal(context.Background(), z, msg, "")
			if strings.TrimSpace(tc.AS) == "" {
				// The chain already failed: no new set may be added.
				if !errors.Is(err, ErrChainFailed) || !bytes.Equal(out, msg) {
					t.Errorf("%s: sealed a failed chain: %v", name, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			fields, _ := split(out)
			got := map[string]string{}
			for _, f := range fields[:3] {
				got[strings.ToLower(f.name)] = squeeze(strings.ReplaceAll(f.value(), "\r\n", ""))
			}
			for h, want := range map[string]string{"arc-seal": tc.AS, "arc-message-signature": tc.AMS, "arc-authentication-results": tc.AAR} {
				if g, w := canonValue(got[h]), canonValue(want); g != w {
					t.Errorf("%s: %s\n got %s\nwant %s", name, h, g, w)
				}
			}
			// A seal over a broken chain says so, and the chain stays failed.
			want := ChainPass
			if strings.Contains(tc.AS, "cv=fail") {
				want = ChainFail
			}
			if res := Verify(context.Background(), z, out); res.Chain != want {
				t.Errorf("%s: our sealed message validates as %s (%s), want %s", name, res.Chain, res.Reason, want)
			}
		}
	}
	if total != 17 {
		t.Errorf("ran %d signing cases, the suite has 17", total)
	}
}

// canonValue is a value as relaxed canonicalization sees it, with the
// whitespace inside base64 removed (the suite folds b= arbitrarily).
func canonValue(v string) string {
	t, err := parseTags(v)
	if err != nil || t["b"] == "" {
		return squeeze(strings.ReplaceAll(v, "\n", " "))
	}
	var b strings.Builder
	for _, k := range sortedKeys(t) {
		val := t[k]
		if k == "b" || k == "bh" {
			val = stripWS(val)
		}
		b.WriteString(k + "=" + squeeze(strings.ReplaceAll(val, "\n", " ")) + "; ")
	}
	return b.String()
}
