package engine

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// refresh copies the envelope into the facts; it changes between phases.
func (tx *Tx) refresh() {
	e := &tx.m.Envelope
	f := &tx.facts
	f.Conn = ConnFacts{HELO: e.HELO, TLS: e.TLS, Listener: e.Listener, Port: e.Port}
	if e.IP.IsValid() {
		f.Conn.IP = e.IP.Unmap().String()
	}
	f.Auth = AuthFacts{Authenticated: e.AuthUser != "", User: e.AuthUser}
	f.Envelope = EnvelopeFacts{MailFrom: e.MailFrom, FromDomain: domainOf(e.MailFrom), Rcpt: e.Rcpt}
	seen := map[string]bool{}
	for _, r := range e.Rcpt {
		if d := domainOf(r); d != "" && !seen[d] {
			seen[d] = true
			f.Envelope.RcptDomains = append(f.Envelope.RcptDomains, d)
		}
	}
}

// prepareFacts makes sure everything rule r reads is in the facts: the
// message header and body facts, and the stages it needs (run concurrently).
func (tx *Tx) prepareFacts(ctx context.Context, r *Rule, phase Phase) error {
	if r.needsMsg || r.needsBody {
		if tx.m.Raw == nil {
			if phase < PhaseData {
				return errNotYet
			}
			tx.m.Raw = []byte{} // an empty DATA is an empty (malformed) message
		}
		tx.msgOnce.Do(tx.loadMsg)
	}
	if r.needsBody {
		tx.bodyOnce.Do(tx.loadBody)
	}
	tx.ensureAll(ctx, r.needs)
	return nil
}

func (tx *Tx) loadMsg() {
	h := tx.m.Header()
	f := &tx.facts.Msg
	f.Subject = h.Get("Subject")
	f.Size = len(tx.m.Raw)
	f.MessageID = trimAngle(h.Raw("Message-ID"))
	from, ok := h.Addresses("From")
	if len(from) > 0 {
		f.From, f.FromName, f.FromDomain = from[0].Address, from[0].Name, domainOf(from[0].Address)
	}
	to, ok2 := h.Addresses("To")
	cc, ok3 := h.Addresses("Cc")
	for _, a := range append(to, cc...) {
		f.To = append(f.To, a.Address)
	}
	if rt, _ := h.Addresses("Reply-To"); len(rt) > 0 {
		f.ReplyTo, f.ReplyToDomain = rt[0].Address, domainOf(rt[0].Address)
	}
	switch {
	case h.Defect != "":
		f.Malformed, f.MalformedReason = true, h.Defect
	case !ok || !ok2 || !ok3:
		f.Malformed, f.MalformedReason = true, "invalid address header"
	}
}

func (tx *Tx) loadBody() {
	b := tx.m.Body()
	f := &tx.facts.Msg
	f.Text, f.HTML, f.URLs, f.URLDomains, f.Attachments = b.Text, b.HTML, b.URLs, b.URLDomains, b.Attachments
	if b.Defect != "" && !f.Malformed {
		f.Malformed, f.MalformedReason = true, b.Defect
	}
}

func trimAngle(s string) string {
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		return s[1 : len(s)-1]
	}
	return s
}

// Ensure runs the named stages of the pipeline that have not run yet, as
// if a rule had read them, for a caller that needs their facts whatever
// the rules read: the server evaluates DMARC for every message when it
// sends aggregate reports, and validates ARC before sealing a forward.
// Names the pipeline has no stage for are skipped. Call it between
// Evaluate calls, after DATA for stages of the data phase.
func (tx *Tx) Ensure(ctx context.Context, names ...string) {
	var have []string
	for _, n := range names {
		if tx.p.Stages[n] != nil {
			have = append(have, n)
		}
	}
	if len(have) > 0 && tx.m.Raw == nil {
		tx.m.Raw = []byte{}
	}
	tx.ensureAll(ctx, have)
}

// ensureAll runs the named stages that have not run yet, concurrently, and
// waits for all of them. The last one runs in the calling goroutine, and
// stages already finished cost nothing: most rules need one stage, or
// stages that an earlier rule already ran.
func (tx *Tx) ensureAll(ctx context.Context, names []string) {
	var pending []string
	tx.mu.Lock()
	for _, n := range names {
		if r := tx.runs[n]; r == nil || !r.finished {
			pending = append(pending, n)
		}
	}
	tx.mu.Unlock()
	if len(pending) == 0 {
		return
	}
	var wg sync.WaitGroup
	for _, n := range pending[:len(pending)-1] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tx.ensure(ctx, n)
		}()
	}
	tx.ensure(ctx, pending[len(pending)-1])
	wg.Wait()
}

// ensure runs stage ns once for this transaction; concurrent callers wait
// for the first one.
func (tx *Tx) ensure(ctx context.Context, ns string) {
	tx.mu.Lock()
	run := tx.runs[ns]
	if run != nil {
		tx.mu.Unlock()
		<-run.done
		return
	}
	run = &stageRun{done: make(chan struct{})}
	tx.runs[ns] = run
	tx.mu.Unlock()
	defer close(run.done)

	st := tx.p.Stages[ns]
	if dep, ok := st.(Dependent); ok {
		tx.ensureAll(ctx, dep.Needs())
	}
	timeout := tx.p.StageTimeout
	if t, ok := st.(Timeouter); ok && t.Timeout() > 0 {
		timeout = t.Timeout()
	}
	if timeout <= 0 {
		timeout = DefaultStageTimeout
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := runStage(sctx, st, &Input{Msg: tx.m, Facts: &tx.facts, DNS: tx.dns})
	if err != nil {
		slog.Warn("stage failed", "stage", ns, "err", err)
		st.Fail(&tx.facts, err)
	}
	if tx.observe != nil {
		tx.observe(ns, tx.stageOutcome(sctx, ns, err), time.Since(start))
	}
	tx.mu.Lock()
	run.took, run.err = time.Since(start), err
	tx.ran = append(tx.ran, ns)
	run.finished = true
	tx.mu.Unlock()
}

// runStage calls st.Run, turning a panic into an error so that one broken
// check cannot take the server down.
func runStage(ctx context.Context, st Stage, in *Input) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in stage %s: %v\n%s", st.Namespace(), p, debug.Stack())
		}
	}()
	return st.Run(ctx, in)
}
