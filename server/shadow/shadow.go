// Package shadow evaluates a second rule set (config shadow_rules) beside
// the live one on every message the server decides, never acting on its
// verdict: it replays the live verdict's journal record with the shadow
// rules, in the background and with the DNS answers the live checks got
// (a question they never asked is a temperror, so the shadow set makes
// no DNS query of its own). Each disagreement is journalled (a record of
// kind "shadow" holding both verdicts) and counted by (live action,
// shadow action).
package shadow

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/journal"
	"github.com/sluicemail/sluice/server/replay"
	"github.com/sluicemail/sluice/stages/resolver"
)

// Kind is the journal record kind of a disagreement.
const Kind = "shadow"

// Journal is where disagreements are written.
type Journal interface {
	Append(rec *journal.Record, body []byte) error
}

// Options configure a Shadow.
type Options struct {
	Pipeline func(name string) *engine.Pipeline // the shadow rules, by pipeline name
	Journal  Journal
	Logger   *slog.Logger
	// MaxInFlight bounds the evaluations running at once (default twice
	// GOMAXPROCS); a message that comes when all are busy is not
	// evaluated (and counted as skipped), so the shadow set never queues
	// up work or slows the live path.
	MaxInFlight int
	Timeout     time.Duration // per evaluation; default 30s
}

// Pair is a live action and the shadow action for the same message.
type Pair struct{ Live, Shadow string }

// Shadow runs the shadow rule set. It is safe for concurrent use.
type Shadow struct {
	opts    Options
	sem     chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	counts  map[Pair]uint64
	skipped atomic.Uint64
	done    atomic.Uint64
}

// New returns a Shadow.
func New(o Options) *Shadow {
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 2 * runtime.GOMAXPROCS(0)
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Shadow{opts: o, sem: make(chan struct{}, o.MaxInFlight), counts: map[Pair]uint64{}}
}

// Consider evaluates the message of the live record rec with the shadow
// rules, in the background; raw is its text (nil before DATA). It returns
// at once.
func (s *Shadow) Consider(rec *journal.Record, raw []byte) {
	select {
	case s.sem <- struct{}{}:
	default:
		s.skipped.Add(1)
		return
	}
	s.wg.Add(1)
	go func() {
		defer func() { <-s.sem; s.wg.Done() }()
		s.evaluate(rec, raw)
	}()
}

func (s *Shadow) evaluate(rec *journal.Record, raw []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	out, err := replay.Record(ctx, rec, replay.Options{Pipeline: s.opts.Pipeline, Unrecorded: resolver.UnrecordedTemperror, Body: raw})
	s.done.Add(1)
	if err != nil {
		s.opts.Logger.Warn("shadow rules", "journal", rec.ID, "err", err)
		return
	}
	if out.Verdict.Action == rec.Action {
		return
	}
	s.mu.Lock()
	s.counts[Pair{rec.Action, out.Verdict.Action}]++
	s.mu.Unlock()
	if s.opts.Journal == nil {
		return
	}
	d := disagreement(rec, out, s.opts.Pipeline(rec.Pipeline))
	if err := s.opts.Journal.Append(d, nil); err != nil {
		s.opts.Logger.Warn("shadow rules: journal", "journal", rec.ID, "err", err)
	}
}

// disagreement is the journal record of a disagreement: the live
// record's identity and verdict, and the shadow verdict.
func disagreement(live *journal.Record, out replay.Outcome, p *engine.Pipeline) *journal.Record {
	d := &journal.Record{Kind: Kind, Of: live.ID, Direction: live.Direction, Pipeline: live.Pipeline, Session: live.Session,
		Conn: live.Conn, Envelope: live.Envelope, MessageID: live.MessageID, Subject: live.Subject, Phase: live.Phase,
		Action: live.Action, Code: live.Code, Enhanced: live.Enhanced, Text: live.Text, Score: live.Score,
		Rules: live.Rules, RuleSet: live.RuleSet}
	v := out.Verdict
	d.Shadow = &journal.Shadow{Action: v.Action, Code: v.Code, Score: v.Score, Rules: out.Rules, Unrecorded: out.Unrecorded}
	if p != nil {
		d.Shadow.RuleSet = p.Version
	}
	return d
}

// Wait waits for the evaluations in flight (at shutdown, before the
// journal closes).
func (s *Shadow) Wait() { s.wg.Wait() }

// Disagreements returns the disagreements so far per (live, shadow)
// action pair: what the metric sluice_shadow_disagreements_total exports.
func (s *Shadow) Disagreements() map[Pair]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Pair]uint64, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// Evaluated and Skipped count the messages evaluated and those left out
// because every slot was busy.
func (s *Shadow) Evaluated() uint64 { return s.done.Load() }

// Skipped counts the messages not evaluated because every slot was busy.
func (s *Shadow) Skipped() uint64 { return s.skipped.Load() }

// WriteMetrics writes the counters in the Prometheus text format.
func (s *Shadow) WriteMetrics(w io.Writer) {
	counts := s.Disagreements()
	pairs := make([]Pair, 0, len(counts))
	for p := range counts {
		pairs = append(pairs, p)
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].Live != pairs[j].Live {
			return pairs[i].Live < pairs[j].Live
		}
		return pairs[i].Shadow < pairs[j].Shadow
	})
	fmt.Fprintln(w, "# HELP sluice_shadow_disagreements_total Messages on which the shadow rule set's action differs from the live one.")
	fmt.Fprintln(w, "# TYPE sluice_shadow_disagreements_total counter")
	for _, p := range pairs {
		fmt.Fprintf(w, "sluice_shadow_disagreements_total{live=%q,shadow=%q} %d\n", p.Live, p.Shadow, counts[p])
	}
	fmt.Fprintf(w, "# TYPE sluice_shadow_evaluated_total counter\nsluice_shadow_evaluated_total %d\n", s.Evaluated())
	fmt.Fprintf(w, "# TYPE sluice_shadow_skipped_total counter\nsluice_shadow_skipped_total %d\n", s.Skipped())
}
