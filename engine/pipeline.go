package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"
)

// DefaultStageTimeout bounds a stage that sets no timeout of its own.
const DefaultStageTimeout = 10 * time.Second

// Pipeline is a compiled, ordered rule list with the stages and lists it
// uses. It is immutable once prepared and shared by every message that uses
// it; a reload builds a new one.
type Pipeline struct {
	Name         string // inbound or outbound
	Rules        []*Rule
	Stages       map[string]Stage // by namespace
	Lists        map[string]*List
	DNS          Resolver      // default resolver for stages
	StageTimeout time.Duration // 0 means DefaultStageTimeout
	// State keeps rate limits and greylisting between messages; nil makes
	// rate_exceeded false and greylist pass (a dry run without one).
	State    State
	Greylist GreylistSettings // the rule file's `greylist:` settings
	// Version names the rule set the pipeline was built from (a content
	// hash of its files), for the verdict journal; "" when unknown.
	Version string
}

// Prepare computes each rule's phase and stage needs. Call it once after
// building the pipeline and before Begin.
func (p *Pipeline) Prepare() error {
	for _, r := range p.Rules {
		if err := r.prepare(p.Stages); err != nil {
			return &RuleError{Rule: r.Name, Pos: r.Pos, Err: err}
		}
	}
	return nil
}

// Tx is one message's way through a pipeline. The SMTP session keeps it from
// connection to DATA and evaluates it at each phase; stage results are kept
// for the message, so a stage runs at most once.
type Tx struct {
	p     *Pipeline
	m     *Message
	dns   Resolver
	facts Facts

	// state, the context of the Evaluate in progress, and what this
	// message was counted for (ratelimit.go, greylist.go).
	state     State
	ctx       context.Context
	rates     map[string]*rateMemo
	greylists map[string]GreylistResult
	// stateDown is set when the state failed for this message: a state
	// that hangs costs each call its timeout, so it is asked no more and
	// the message's remaining checks are temperror at once (one timeout
	// per transaction, however many limits and recipients it has).
	stateDown bool
	observe   StageObserver // nil: none
	learn     bool          // WithLearning
	learnt    bool          // the Learners were told of the DATA verdict

	mu       sync.Mutex
	runs     map[string]*stageRun
	ran      []string
	msgOnce  sync.Once
	bodyOnce sync.Once
}

type stageRun struct {
	done     chan struct{}
	finished bool // set under Tx.mu when done is about to close
	took     time.Duration
	err      error
}

// TxOption adjusts a transaction.
type TxOption func(*Tx)

// WithResolver makes the stages of this transaction resolve through r (a
// rule test's zone file, a dry run's --dns).
func WithResolver(r Resolver) TxOption { return func(tx *Tx) { tx.dns = r } }

// WithState makes this transaction count rate limits and greylist in s
// instead of the pipeline's state (a rule test's fresh memory).
func WithState(s State) TxOption { return func(tx *Tx) { tx.state = s } }

// WithLearning marks the transaction as real mail the server is taking,
// which the stages that learn are told of (Learner). Only the SMTP and milter
// sessions pass it.
func WithLearning() TxOption { return func(tx *Tx) { tx.learn = true } }

// Begin starts evaluating m with this pipeline.
func (p *Pipeline) Begin(m *Message, opts ...TxOption) *Tx {
	tx := &Tx{p: p, m: m, dns: p.DNS, runs: map[string]*stageRun{}, state: p.State,
		rates: map[string]*rateMemo{}, greylists: map[string]GreylistResult{}}
	for _, o := range opts {
		o(tx)
	}
	if tx.dns == nil {
		tx.dns = NoDNS{}
	}
	f := &tx.facts
	f.Header = func(name string) string { return tx.m.Header().Get(name) }
	f.Headers = func(name string) []string { return tx.m.Header().Values(name) }
	f.Msg.Header = f.Header
	f.InList = tx.inList
	f.Domain = DomainOf
	f.CIDR = inCIDR
	f.RateExceeded = func(name, key, limit string) bool { return tx.rateExceeded(name, key, limit, 1) }
	f.RateExceededBy = tx.rateExceeded
	f.Dnsbl.ListedIn = func(zone string) bool { return false }
	f.Uribl.ListedIn = f.Dnsbl.ListedIn
	return tx
}

// Pipeline returns the pipeline this transaction started with.
func (tx *Tx) Pipeline() *Pipeline { return tx.p }

// Message returns the message being evaluated.
func (tx *Tx) Message() *Message { return tx.m }

// Facts returns the facts gathered so far. Read it only between calls to
// Evaluate.
func (tx *Tx) Facts() *Facts { return &tx.facts }

func (tx *Tx) inList(name, value string) bool {
	l := tx.p.Lists[name]
	return l != nil && l.Contains(value)
}

var vmPool = sync.Pool{New: func() any { return &vm.VM{} }}

// Evaluate runs the rules with the facts known at phase. Before PhaseData it
// may return an undecided verdict (Decided false): a rule that could end
// evaluation needs facts that are not known yet. At PhaseData it always
// decides. A rule's runtime error makes the verdict a tempfail naming it.
func (tx *Tx) Evaluate(ctx context.Context, phase Phase) Verdict {
	machine := vmPool.Get().(*vm.VM)
	defer vmPool.Put(machine)
	tx.ctx = ctx
	defer func() { tx.ctx = nil }()
	tx.refresh()
	f := &tx.facts
	f.Score = 0
	v := Verdict{Action: ActionAccept}
	var skippedScore bool
	var blockPhase, scorePhase Phase // latest phase of earlier terminal / scoring rules
	for _, r := range tx.p.Rules {
		if r.phase > phase {
			if r.terminal() {
				return tx.finish(v, false, phase)
			}
			skippedScore = skippedScore || r.Score != 0
			continue
		}
		if r.readsScore && skippedScore {
			return tx.finish(v, false, phase)
		}
		if err := tx.prepareFacts(ctx, r, phase); err != nil {
			return tx.finish(v, false, phase)
		}
		hit, err := tx.match(machine, r)
		if err != nil {
			return tx.fail(v, r, err)
		}
		decidedAt := max(r.phase, blockPhase)
		if r.readsScore {
			decidedAt = max(decidedAt, scorePhase)
		}
		if r.terminal() {
			blockPhase = max(blockPhase, r.phase)
		}
		if r.Score != 0 {
			scorePhase = max(scorePhase, r.phase)
		}
		if !hit {
			continue
		}
		acted, err := tx.fire(machine, r, &v)
		if err != nil {
			return tx.fail(v, r, err)
		}
		if r.Stop && acted {
			v.Phase = decidedAt
			return tx.finish(v, true, phase)
		}
	}
	v.Phase = max(blockPhase, scorePhase)
	return tx.finish(v, phase >= PhaseData, phase)
}

func (tx *Tx) match(machine *vm.VM, r *Rule) (bool, error) {
	if r.When == nil {
		return true, nil
	}
	out, err := machine.Run(r.When.Program, &tx.facts)
	if err != nil {
		return false, err
	}
	b, _ := out.(bool)
	return b, nil
}

// fire applies a matching rule to the verdict. acted is false for a
// greylist rule whose triplets pass: it does not end evaluation.
func (tx *Tx) fire(machine *vm.VM, r *Rule, v *Verdict) (acted bool, err error) {
	f := &tx.facts
	v.Score += r.Score
	f.Score = v.Score
	v.Fired = append(v.Fired, Fired{Name: r.Name, Score: r.Score, Action: r.Action.Kind})
	for _, h := range r.Headers {
		val, err := h.Value.Render(machine, f)
		if err != nil {
			return false, err
		}
		v.Headers = append(v.Headers, Field{Name: h.Name, Value: val})
	}
	if r.Tag != nil {
		tag, err := r.Tag.Render(machine, f)
		if err != nil {
			return false, err
		}
		v.Tag = tag
	}
	if r.DKIMSign != nil {
		v.DKIMSign = r.DKIMSign
	}
	if r.Learn != "" {
		v.Learn = r.Learn
	}
	if r.Action.Kind == "" {
		return true, nil
	}
	if r.Action.Kind == ActionGreylist {
		pass, retry := tx.greylist()
		if pass {
			return false, nil
		}
		v.Action, v.Code, v.Enhanced, v.Text = ActionTempfail, DefaultTempfailCode, DefaultTempfailEnhanced, greylistText(retry)
		return true, nil
	}
	text, err := r.Action.Text.Render(machine, f)
	if err != nil {
		return false, err
	}
	v.Action, v.Code, v.Enhanced, v.Text, v.Redirect = r.Action.Kind, r.Action.Code, r.Action.Enhanced, text, r.Action.Redirect
	return true, nil
}

// RuleError is a rule that failed at run time.
type RuleError struct {
	Rule string
	Pos  Position
	Err  error
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("%s: rule %q: %v", e.Pos, e.Rule, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

func (tx *Tx) fail(v Verdict, r *Rule, err error) Verdict {
	v.Action = ActionTempfail
	v.Code, v.Enhanced, v.Text = 451, "4.3.0", "Temporary local problem, try again later"
	v.Err = &RuleError{Rule: r.Name, Pos: r.Pos, Err: err}
	v.Phase = r.phase
	return tx.finish(v, true, r.phase)
}

func (tx *Tx) finish(v Verdict, decided bool, phase Phase) Verdict {
	v.Decided = decided
	if !decided {
		v.Phase = phase
	}
	tx.mu.Lock()
	v.Stages = append([]string(nil), tx.ran...)
	tx.mu.Unlock()
	if decided && phase >= PhaseData {
		tx.tellLearners(&v)
	}
	return v
}

// tellLearners hands the DATA verdict of mail the server takes to the
// stages that learn, once. A tempfailed message is not learnt: it will
// come again, and is judged then.
func (tx *Tx) tellLearners(v *Verdict) {
	if !tx.learn || tx.learnt || v.Action == ActionTempfail || v.Err != nil || len(tx.m.Raw) == 0 {
		return
	}
	tx.learnt = true
	for _, st := range tx.p.Stages {
		if l, ok := st.(Learner); ok && l.Learns() {
			l.LearnVerdict(&Input{Msg: tx.m, Facts: &tx.facts, DNS: tx.dns}, v.Learn)
		}
	}
}

// errNotYet means the message text is needed but DATA has not arrived.
var errNotYet = errors.New("message not received yet")
