package rules

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/resolver"
)

// TestCase is one rule test: a message, its envelope, an optional DNS zone
// file, and the expected verdict.
type TestCase struct {
	File     string
	Line     int
	Name     string
	Pipeline string
	Raw      []byte
	Envelope engine.Envelope
	DNS      string // zone file path, "" for none
	Expect   Expect

	pipeline *engine.Pipeline // the file's own pipeline when it overrides stages
}

// Expect is what a rule test checks. Empty fields are not checked.
type Expect struct {
	Action   string            `yaml:"action"`
	Rules    []string          `yaml:"rules"`     // exactly these rules fired, in order
	NotRules []string          `yaml:"not_rules"` // none of these fired
	Score    *ScoreRange       `yaml:"-"`
	Reply    string            `yaml:"reply"`   // the SMTP reply, e.g. "550 5.7.1 Listed"
	Headers  map[string]string `yaml:"headers"` // header fields the verdict adds
	Tag      string            `yaml:"tag"`
	// Learn is the learn: of the verdict ("spam", "ham"), or "none" for
	// a verdict no rule asks to learn. A rule test itself never learns.
	Learn string `yaml:"learn"`
}

// ScoreRange bounds the expected score; a single number sets both.
type ScoreRange struct{ Min, Max float64 }

type testFileDoc struct {
	Pipeline string `yaml:"pipeline"`
	// Stages overrides stage settings for this file's cases only, e.g. a
	// small Bayes model fixture; paths are relative to the test file.
	Stages map[string]ast.Node `yaml:"stages"`
	Tests  []ast.Node          `yaml:"tests"`
}

type testDoc struct {
	Name     string      `yaml:"name"`
	Pipeline string      `yaml:"pipeline"`
	Message  string      `yaml:"message"`
	Raw      string      `yaml:"raw"`
	Envelope envelopeDoc `yaml:"envelope"`
	DNS      string      `yaml:"dns"`
	Expect   struct {
		Expect `yaml:",inline"`
		Score  ast.Node `yaml:"score"`
	} `yaml:"expect"`
}

type envelopeDoc struct {
	IP       string   `yaml:"ip"`
	HELO     string   `yaml:"helo"`
	From     *string  `yaml:"from"`
	To       []string `yaml:"to"`
	TLS      bool     `yaml:"tls"`
	Auth     string   `yaml:"auth"`
	Listener string   `yaml:"listener"`
	Port     int      `yaml:"port"`
}

// loadTests reads one *_test.yaml file, and the stage settings it
// overrides for its cases.
func loadTests(path string) ([]*TestCase, map[string]stageConf, ErrorList) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, ErrorList{{File: path, Msg: err.Error()}}
	}
	var doc testFileDoc
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, nil, ErrorList{yamlError(path, err)}
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return nil, nil, ErrorList{{File: path, Msg: "empty test file"}}
	}
	if err := decodeNode(path, f.Docs[0].Body, &doc, yaml.Strict()); err != nil {
		return nil, nil, ErrorList{err}
	}
	overrides := map[string]stageConf{}
	for ns, node := range doc.Stages {
		overrides[ns] = stageConf{file: path, node: node}
	}
	var out []*TestCase
	var errs ErrorList
	for _, node := range doc.Tests {
		tc, err := loadTest(path, doc.Pipeline, node)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, tc)
	}
	return out, overrides, errs
}

func loadTest(path, pipeline string, node ast.Node) (*TestCase, *Error) {
	line, col := pos(node)
	var d testDoc
	if err := decodeNode(path, node, &d, yaml.Strict()); err != nil {
		return nil, err
	}
	fail := func(format string, args ...any) *Error {
		return &Error{File: path, Line: line, Col: col, Msg: fmt.Sprintf("test %q: ", d.Name) + fmt.Sprintf(format, args...)}
	}
	tc := &TestCase{File: path, Line: line, Name: d.Name, Pipeline: firstNonEmpty(d.Pipeline, pipeline, Inbound), Expect: d.Expect.Expect}
	switch {
	case d.Message != "" && d.Raw != "":
		return nil, fail("give message or raw, not both")
	case d.Message != "":
		raw, err := os.ReadFile(relPath(path, d.Message))
		if err != nil {
			return nil, fail("%v", err)
		}
		tc.Raw = raw
	case d.Raw != "":
		tc.Raw = []byte(strings.ReplaceAll(strings.ReplaceAll(d.Raw, "\r\n", "\n"), "\n", "\r\n"))
	default:
		return nil, fail("no message: give message: FILE or raw: TEXT")
	}
	if d.DNS != "" {
		tc.DNS = relPath(path, d.DNS)
		if _, err := os.Stat(tc.DNS); err != nil {
			return nil, fail("dns: %v", err)
		}
	}
	if tc.Expect.Action == "" && tc.Expect.Rules == nil && d.Expect.Score == nil && len(tc.Expect.Headers) == 0 && tc.Expect.Learn == "" {
		return nil, fail("expect nothing: give at least action, rules, score, headers or learn")
	}
	if d.Expect.Score != nil {
		r, err := scoreRange(d.Expect.Score)
		if err != nil {
			return nil, fail("%v", err)
		}
		tc.Expect.Score = r
	}
	env, err := d.Envelope.build(engine.NewMessage(engine.Envelope{}, tc.Raw))
	if err != nil {
		return nil, fail("%v", err)
	}
	tc.Envelope = env
	return tc, nil
}

func scoreRange(n ast.Node) (*ScoreRange, error) {
	var single float64
	if err := decodeNode("", n, &single); err == nil {
		return &ScoreRange{single, single}, nil
	}
	var r struct {
		Min *float64 `yaml:"min"`
		Max *float64 `yaml:"max"`
	}
	if err := decodeNode("", n, &r, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("score: want a number or {min: N, max: N}")
	}
	out := &ScoreRange{Min: math.Inf(-1), Max: math.Inf(1)}
	if r.Min != nil {
		out.Min = *r.Min
	}
	if r.Max != nil {
		out.Max = *r.Max
	}
	return out, nil
}

// build makes the envelope, filling what the test leaves out from the
// message as a dry run does.
func (d envelopeDoc) build(m *engine.Message) (engine.Envelope, error) {
	env := DeriveEnvelope(m)
	env.Listener = firstNonEmpty(d.Listener, "test")
	if d.IP != "" {
		ip, err := netip.ParseAddr(d.IP)
		if err != nil {
			return env, fmt.Errorf("envelope ip: %v", err)
		}
		env.IP = ip
	}
	env.HELO = firstNonEmpty(d.HELO, env.HELO)
	if d.From != nil {
		env.MailFrom = *d.From
	}
	if len(d.To) > 0 {
		env.Rcpt = d.To
	}
	env.TLS, env.AuthUser, env.Port = d.TLS, d.Auth, d.Port
	return env, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// TestResult is the outcome of one rule test.
type TestResult struct {
	Case     *TestCase
	Verdict  engine.Verdict
	Failures []string // empty when the test passed
}

// Passed reports whether the verdict met every expectation.
func (r *TestResult) Passed() bool { return len(r.Failures) == 0 }

// RunTests runs every rule test of the set.
func (s *Set) RunTests(ctx context.Context) []TestResult {
	out := make([]TestResult, 0, len(s.Tests))
	for _, tc := range s.Tests {
		out = append(out, s.runTest(ctx, tc))
	}
	return out
}

func (s *Set) runTest(ctx context.Context, tc *TestCase) TestResult {
	res := TestResult{Case: tc}
	p := s.Pipeline(tc.Pipeline)
	if tc.pipeline != nil {
		p = tc.pipeline
	}
	if p == nil {
		res.Failures = []string{fmt.Sprintf("no %s pipeline in %s", tc.Pipeline, s.Dir)}
		return res
	}
	// A rule test sees only the DNS its zone file gives, never the
	// server's resolver: its verdict must not depend on the network.
	opts := []engine.TxOption{engine.WithResolver(resolver.Offline{})}
	if tc.DNS != "" {
		z, err := resolver.LoadZoneFile(tc.DNS)
		if err != nil {
			res.Failures = []string{err.Error()}
			return res
		}
		opts = []engine.TxOption{engine.WithResolver(z)}
	}
	// A fresh state per case: a test never counts against the server's
	// limits or greylist, and never depends on the cases before it.
	opts = append(opts, engine.WithState(engine.NewMemoryState()))
	m := engine.NewMessage(tc.Envelope, tc.Raw)
	res.Verdict = p.Begin(m, opts...).Evaluate(ctx, engine.PhaseData)
	res.Failures = tc.Expect.check(&res.Verdict)
	return res
}

func (e *Expect) check(v *engine.Verdict) []string {
	var fails []string
	failf := func(format string, args ...any) { fails = append(fails, fmt.Sprintf(format, args...)) }
	if v.Err != nil {
		failf("rule error: %v", v.Err)
	}
	if e.Action != "" && e.Action != v.Action {
		failf("action: expected %s, got %s", e.Action, v.Action)
	}
	if e.Rules != nil && !slices.Equal(e.Rules, v.Rules()) {
		failf("rules: expected %v, got %v", e.Rules, v.Rules())
	}
	for _, r := range e.NotRules {
		if slices.Contains(v.Rules(), r) {
			failf("rules: %s fired, expected it not to", r)
		}
	}
	if e.Score != nil && (v.Score < e.Score.Min-1e-9 || v.Score > e.Score.Max+1e-9) {
		if e.Score.Min == e.Score.Max {
			failf("score: expected %g, got %g", e.Score.Min, v.Score)
		} else {
			failf("score: expected %g..%g, got %g", e.Score.Min, e.Score.Max, v.Score)
		}
	}
	if e.Reply != "" && e.Reply != v.Reply() {
		failf("reply: expected %q, got %q", e.Reply, v.Reply())
	}
	if e.Tag != "" && e.Tag != v.Tag {
		failf("tag: expected %q, got %q", e.Tag, v.Tag)
	}
	if e.Learn != "" {
		got := v.Learn
		if got == "" {
			got = "none"
		}
		if got != e.Learn {
			failf("learn: expected %s, got %s", e.Learn, got)
		}
	}
	for name, want := range e.Headers {
		got, ok := findHeader(v.Headers, name)
		if !ok || got != want {
			failf("header %s: expected %q, got %q", name, want, got)
		}
	}
	return fails
}

func findHeader(fs []engine.Field, name string) (string, bool) {
	for _, f := range fs {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}
