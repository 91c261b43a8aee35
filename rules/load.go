package rules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
)

// Pipelines a rule file may declare.
const (
	Inbound  = "inbound"
	Outbound = "outbound"
)

// Options are what a rule set is built with.
type Options struct {
	DNS          engine.Resolver // resolver for the stages (nil: none, DNS stages temperror)
	DataDir      string          // the server's data directory, for stage files
	StageTimeout time.Duration   // per-stage timeout; 0 means engine.DefaultStageTimeout
	// StageConfig is handed to each stage as stages.Settings.Config, by
	// namespace: the server config's blocks that concern a stage.
	StageConfig map[string][]byte
	// Always are stages built into every pipeline even when no rule reads
	// them, for the server to run on its own account (dmarc for the
	// aggregate reports, arc for sealing forwarded mail).
	Always []string
	// State keeps rate limits and greylisting between messages (the data
	// directory or Redis); nil counts in memory, for dry runs.
	State engine.State
	// Relay, when set, makes a rule set that fails the relay-safety proof
	// (ProveRelaySafety) fail to load.
	Relay *RelayPolicy
	// Learn lets the stages learn from the mail they see
	// (stages.Settings.Learn): set for the server's live rule set only.
	Learn bool
}

// Set is one compiled rule directory: its pipelines, lists and tests.
type Set struct {
	Dir       string
	Files     []string // rule files, in load order
	TestFiles []string
	Watched   []string // every file read, for the reload watcher
	Lists     map[string]*engine.List
	Tests     []*TestCase
	LoadedAt  time.Time

	pipelines map[string]*engine.Pipeline
}

// Pipeline returns the named pipeline ("inbound" or "outbound"), nil if no
// rule file declares it.
func (s *Set) Pipeline(name string) *engine.Pipeline { return s.pipelines[name] }

// Pipelines returns the names of the pipelines the set has, sorted.
func (s *Set) Pipelines() []string {
	out := make([]string, 0, len(s.pipelines))
	for n := range s.pipelines {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Load reads and compiles every rule file in dir (files ending in .yaml or
// .yml, except *_test.yaml), in name order; files of the same pipeline are
// concatenated. It returns every error found, as an ErrorList.
func Load(dir string, opts Options) (*Set, error) {
	files, tests, err := listDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Set{Dir: dir, Files: files, TestFiles: tests, Lists: map[string]*engine.List{}, LoadedAt: time.Now(),
		pipelines: map[string]*engine.Pipeline{}}
	var errs ErrorList
	var parsed []*parsedFile
	for _, f := range files {
		s.Watched = append(s.Watched, f)
		pf, perr := readFile(f)
		if perr != nil {
			errs = append(errs, perr)
			continue
		}
		parsed = append(parsed, pf)
		errs = append(errs, s.loadLists(pf)...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	errs = append(errs, s.build(parsed, opts)...)
	if len(errs) > 0 {
		return nil, errs
	}
	for _, tf := range tests {
		s.Watched = append(s.Watched, tf)
		cases, overrides, terrs := loadTests(tf)
		errs = append(errs, terrs...)
		if len(overrides) > 0 && len(terrs) == 0 {
			errs = append(errs, s.overrideStages(tf, cases, overrides)...)
		}
		s.Tests = append(s.Tests, cases...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if opts.Relay != nil {
		if _, errs := s.ProveRelaySafety(*opts.Relay); len(errs) > 0 {
			return nil, errs
		}
	}
	s.stampVersion()
	return s, nil
}

func listDir(dir string) (files, tests []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("rule directory: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			continue
		}
		p := filepath.Join(dir, n)
		if strings.HasSuffix(strings.TrimSuffix(strings.TrimSuffix(n, ".yml"), ".yaml"), "_test") {
			tests = append(tests, p)
		} else {
			files = append(files, p)
		}
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("rule directory %s: no rule files (*.yaml)", dir)
	}
	return files, tests, nil
}

func (s *Set) loadLists(pf *parsedFile) ErrorList {
	var errs ErrorList
	names := make([]string, 0, len(pf.doc.Lists))
	for n := range pf.doc.Lists {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		node := pf.doc.Lists[name]
		if s.Lists[name] != nil {
			l, c := pos(node)
			errs = append(errs, &Error{File: pf.path, Line: l, Col: c, Msg: fmt.Sprintf("list %q is defined twice", name)})
			continue
		}
		list, read, err := loadList(pf.path, name, node)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.Lists[name] = list
		s.Watched = append(s.Watched, read...)
	}
	return errs
}

// build compiles the rules of every pipeline and instantiates its stages.
func (s *Set) build(parsed []*parsedFile, opts Options) ErrorList {
	var errs ErrorList
	settings := map[string]map[string]stageConf{} // pipeline -> namespace -> settings
	for _, pf := range parsed {
		name := pf.doc.Pipeline
		if name != Inbound && name != Outbound {
			errs = append(errs, &Error{File: pf.path, Line: 1, Col: 1, Msg: fmt.Sprintf("pipeline must be %q or %q, got %q", Inbound, Outbound, name)})
			continue
		}
		p := s.pipelines[name]
		if p == nil {
			p = &engine.Pipeline{Name: name, Stages: map[string]engine.Stage{}, Lists: s.Lists, DNS: opts.DNS, StageTimeout: opts.StageTimeout}
			s.pipelines[name] = p
			settings[name] = map[string]stageConf{}
		}
		errs = append(errs, collectStages(pf, settings[name])...)
		seen := map[string]bool{}
		for _, r := range p.Rules {
			seen[r.Name] = true
		}
		for _, node := range pf.doc.Rules {
			r, rerrs := compileRule(pf.path, node, s.Lists)
			errs = append(errs, rerrs...)
			if r == nil || len(rerrs) > 0 {
				continue
			}
			if seen[r.Name] {
				errs = append(errs, &Error{File: pf.path, Line: r.Pos.Line, Col: r.Pos.Col, Rule: r.Name, Msg: "duplicate rule name"})
			}
			seen[r.Name] = true
			p.Rules = append(p.Rules, r)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	for name, p := range s.pipelines {
		errs = append(errs, applyState(p, settings[name], opts)...)
		errs = append(errs, buildStages(p, settings[name], opts)...)
	}
	return errs
}

// stageConf is one stage's settings block and where it was written.
type stageConf struct {
	file string
	node ast.Node
}

func collectStages(pf *parsedFile, into map[string]stageConf) ErrorList {
	var errs ErrorList
	for ns, node := range pf.doc.Stages {
		l, c := pos(node)
		if !stages.Has(ns) && ns != greylistKey {
			errs = append(errs, &Error{File: pf.path, Line: l, Col: c, Msg: fmt.Sprintf("unknown stage %q (known: %s)", ns, strings.Join(stages.Names(), ", "))})
			continue
		}
		if prev, dup := into[ns]; dup {
			errs = append(errs, &Error{File: pf.path, Line: l, Col: c, Msg: fmt.Sprintf("stage %q is already configured in %s", ns, prev.file)})
			continue
		}
		into[ns] = stageConf{file: pf.path, node: node}
	}
	return errs
}

// applyState gives the pipeline its state and greylist settings; without a
// state from the server (a dry run) it counts in memory.
func applyState(p *engine.Pipeline, conf map[string]stageConf, opts Options) ErrorList {
	p.State = opts.State
	if p.State == nil {
		p.State = engine.NewMemoryState()
	}
	p.Greylist = engine.GreylistSettings{PassAfter: engine.DefaultGreylistPass}.WithDefaults()
	c, ok := conf[greylistKey]
	if !ok {
		return nil
	}
	delete(conf, greylistKey)
	s, err := decodeGreylist(c.file, c.node)
	if err != nil {
		return ErrorList{err}
	}
	p.Greylist = s
	return nil
}

// buildStages instantiates every configured stage (so their settings are
// checked at load) and every stage a rule reads, then prepares the pipeline.
func buildStages(p *engine.Pipeline, conf map[string]stageConf, opts Options) ErrorList {
	var errs ErrorList
	need := map[string]bool{}
	for ns := range conf {
		need[ns] = true
	}
	for _, ns := range opts.Always {
		if stages.Has(ns) {
			need[ns] = true
		}
	}
	for _, r := range p.Rules {
		for _, ns := range ruleNamespaces(r) {
			if stages.Has(ns) {
				need[ns] = true
			}
		}
		if r.Learn != "" && stages.Has(learnStage) {
			need[learnStage] = true
		}
	}
	for ns := range need {
		addStage(p, ns, conf, opts, &errs, 0)
	}
	errs = append(errs, checkLearners(p)...)
	if len(errs) > 0 {
		return errs
	}
	if err := p.Prepare(); err != nil {
		var re *engine.RuleError
		if errors.As(err, &re) {
			errs = append(errs, &Error{File: re.Pos.File, Line: re.Pos.Line, Col: re.Pos.Col, Rule: re.Rule, Msg: re.Err.Error()})
		} else {
			errs = append(errs, &Error{File: firstFile(p), Msg: err.Error()})
		}
	}
	return errs
}

// learnStage is the stage a rule's learn: is for: the Bayes stage's
// autolearner, with its guards (per-sender cap, rollback window).
const learnStage = "bayes"

// checkLearners refuses a rule's learn: when no stage of the pipeline
// is set up to learn: the guards must be written down, not implied.
func checkLearners(p *engine.Pipeline) ErrorList {
	for _, st := range p.Stages {
		if l, ok := st.(engine.Learner); ok && l.Learns() {
			return nil
		}
	}
	var errs ErrorList
	for _, r := range p.Rules {
		if r.Learn != "" {
			errs = append(errs, &Error{File: r.Pos.File, Line: r.Pos.Line, Col: r.Pos.Col, Rule: r.Name,
				Msg: "learn: the bayes stage does not autolearn here; give it its guards, e.g. stages: {bayes: {autolearn: {per_sender: 20, window: 72h}}}"})
		}
	}
	return errs
}

// addStage builds one stage and, recursively, the stages it depends on.
func addStage(p *engine.Pipeline, ns string, conf map[string]stageConf, opts Options, errs *ErrorList, depth int) {
	if p.Stages[ns] != nil || depth > 8 {
		return
	}
	c := conf[ns]
	set := stages.Settings{DataDir: opts.DataDir, Config: opts.StageConfig[ns], Learn: opts.Learn}
	if c.node != nil {
		set.Raw = []byte(c.node.String())
		set.Dir = filepath.Dir(c.file)
	}
	st, err := stages.New(ns, set)
	if err != nil {
		l, col := pos(c.node)
		*errs = append(*errs, &Error{File: c.file, Line: l, Col: col, Msg: cleanMsg(err)})
		return
	}
	p.Stages[ns] = st
	if dep, ok := st.(engine.Dependent); ok {
		for _, d := range dep.Needs() {
			addStage(p, d, conf, opts, errs, depth+1)
		}
	}
}

func ruleNamespaces(r *engine.Rule) []string {
	var out []string
	add := func(refs engine.Refs) {
		for ns := range refs.Namespaces {
			out = append(out, ns)
		}
	}
	if r.When != nil {
		add(r.When.Refs)
	}
	if r.Action.Text != nil {
		add(r.Action.Text.Refs)
	}
	if r.Tag != nil {
		add(r.Tag.Refs)
	}
	for _, h := range r.Headers {
		add(h.Value.Refs)
	}
	return out
}

func firstFile(p *engine.Pipeline) string {
	if len(p.Rules) > 0 {
		return p.Rules[0].Pos.File
	}
	return ""
}

// overrideStages gives the cases of one test file pipelines whose stages
// use the file's own settings (a model fixture, a test list zone). The
// rules are shared with the running pipeline, so an override must not move
// a stage to another phase, which would change what the rules were
// prepared for.
func (s *Set) overrideStages(file string, cases []*TestCase, conf map[string]stageConf) ErrorList {
	var errs ErrorList
	built := map[string]*engine.Pipeline{}
	for _, tc := range cases {
		if p, ok := built[tc.Pipeline]; ok {
			tc.pipeline = p
			continue
		}
		orig := s.pipelines[tc.Pipeline]
		if orig == nil {
			continue // reported when the case runs
		}
		p := *orig
		p.Stages = make(map[string]engine.Stage, len(orig.Stages))
		for ns, st := range orig.Stages {
			p.Stages[ns] = st
		}
		for ns, c := range conf {
			l, col := pos(c.node)
			st, err := stages.New(ns, stages.Settings{Raw: []byte(c.node.String()), Dir: filepath.Dir(file)})
			if err != nil {
				errs = append(errs, &Error{File: file, Line: l, Col: col, Msg: cleanMsg(err)})
				continue
			}
			if old := orig.Stages[ns]; old != nil && old.Phase() != st.Phase() {
				errs = append(errs, &Error{File: file, Line: l, Col: col, Msg: fmt.Sprintf("stage %s: these settings move it from phase %s to %s", ns, old.Phase(), st.Phase())})
				continue
			}
			p.Stages[ns] = st
		}
		built[tc.Pipeline] = &p
		tc.pipeline = &p
	}
	return errs
}
