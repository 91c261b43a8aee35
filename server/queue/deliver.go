package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/relay"
	"github.com/sluicemail/sluice/server/store"
)

// Sender relays a message to remote recipients, all of one destination
// domain, honouring the parameters it arrived with (SMTPUTF8,
// REQUIRETLS). It returns one error per recipient, nil when the next hop
// accepted it; relay.IsPermanent tells a permanent failure from a
// temporary one. *relay.Client implements it.
type Sender interface {
	SendWith(ctx context.Context, from string, to []string, raw []byte, p relay.Params) []error
}

// Run delivers queued messages until ctx ends: a pool of workers takes
// messages as they are queued, and a scanner re-queues deferred messages
// when their retry time comes and deletes spool segments that are done.
func (q *Queue) Run(ctx context.Context) error {
	if q.opts.ReadOnly {
		return ErrReadOnly
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	q.running.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	q.stopRun = append(q.stopRun, cancel)
	q.mu.Unlock()
	defer q.running.Done()
	defer cancel()
	var wg sync.WaitGroup
	for range q.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.worker(ctx)
		}()
	}
	q.scan(ctx)
	wg.Wait()
	// Messages left in the ready channel are picked up by the next Run.
	for {
		select {
		case m := <-q.ready:
			q.mu.Lock()
			m.busy = false
			q.mu.Unlock()
		default:
			return nil
		}
	}
}

func (q *Queue) worker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-q.ready:
			q.attempt(ctx, m)
		}
	}
}

// scan re-queues due messages and cleans up segments, every ScanInterval
// or when kicked.
func (q *Queue) scan(ctx context.Context) {
	t := time.NewTicker(q.opts.ScanInterval)
	defer t.Stop()
	for {
		q.enqueueDue()
		q.compact()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-q.kick:
		}
	}
}

// wake asks the scanner for a pass without waiting for the ticker.
func (q *Queue) wake() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// enqueue hands m to the workers. When they are backed up, m stays due and
// the scanner hands it over later (its bytes are dropped from memory, to
// be read back from the spool).
func (q *Queue) enqueue(m *message) {
	q.mu.Lock()
	if m.busy {
		q.mu.Unlock()
		return
	}
	m.busy = true
	q.mu.Unlock()
	select {
	case q.ready <- m:
	default:
		q.mu.Lock()
		m.busy, m.raw = false, nil
		q.mu.Unlock()
	}
}

func (q *Queue) enqueueDue() {
	now := q.opts.Now()
	q.mu.Lock()
	var due []*message
	for _, m := range q.msgs {
		if !m.busy && !m.next.After(now) {
			due = append(due, m)
		}
	}
	q.mu.Unlock()
	for _, m := range due {
		q.enqueue(m)
	}
}

// failure is one recipient that failed permanently, for the DSN.
type failure struct {
	index  int
	status string // enhanced status code, e.g. "5.1.1"
	diag   string // Diagnostic-Code value, e.g. "smtp; 550 5.1.1 unknown user"
	remote string // Remote-MTA host, if known
}

// attempt tries every pending recipient of m once, then records the
// outcomes, bounces permanent failures, and either finishes m or schedules
// its next attempt.
func (q *Queue) attempt(ctx context.Context, m *message) {
	raw, err := q.readRaw(m)
	if err != nil {
		q.deferMsg(m, err)
		return
	}
	var done []doneEntry
	var fails []failure
	var tempErr error
	if m.env.Quarantine {
		if err := q.hold(m, raw); err != nil {
			tempErr = err
		} else {
			done = pendingAs(m, rcptDelivered)
		}
	} else {
		done, fails, tempErr = q.deliverAll(ctx, m, raw)
	}
	if tempErr != nil && ctx.Err() != nil {
		// Shutting down: what failed did so because of it, which is no
		// attempt to count. Keep what succeeded; the rest waits for the
		// next start.
		if !q.record(m, done) {
			q.mu.Lock()
			m.busy, m.raw = false, nil
			q.mu.Unlock()
		}
		return
	}
	fails, tempErr = q.softBounce(m, fails, tempErr)
	if tempErr != nil && q.opts.Now().Sub(m.env.Received) >= q.opts.MaxAge && !q.opts.SoftBounce {
		fails = append(fails, q.expire(m, done, fails, tempErr)...)
		tempErr = nil
	}
	if len(fails) > 0 {
		if err := q.bounce(m, raw, fails); err != nil {
			// Without its DSN a failure cannot be recorded: keep the
			// recipients pending and try again later.
			q.log.Error("queueing DSN", "id", m.id, "err", err)
			tempErr = err
		} else {
			for _, f := range fails {
				done = append(done, doneEntry{Index: f.index, State: rcptFailed})
			}
		}
	}
	if !q.record(m, done) {
		if tempErr == nil {
			tempErr = errors.New("recipients left pending")
		}
		q.deferMsg(m, tempErr)
	}
}

// deliverAll delivers to the local recipients, then to the remote ones one
// destination domain at a time.
func (q *Queue) deliverAll(ctx context.Context, m *message, raw []byte) ([]doneEntry, []failure, error) {
	var done []doneEntry
	var fails []failure
	var tempErr error
	domains := map[string][]int{}
	var order []string
	for i, r := range m.env.Rcpt {
		if m.state[i] != rcptPending {
			continue
		}
		if !r.Local {
			d := engine.DomainOf(r.Addr)
			if domains[d] == nil {
				order = append(order, d)
			}
			domains[d] = append(domains[d], i)
			continue
		}
		if err := q.deliverLocal(m, r, raw); err != nil {
			if store.IsPermanent(err) {
				q.log.Warn("local delivery failed", "id", m.id, "user", r.User, "err", err)
				fails = append(fails, localFailure(i, err))
				continue
			}
			tempErr = err
			q.log.Warn("local delivery deferred", "id", m.id, "user", r.User, "err", err)
			continue
		}
		done = append(done, doneEntry{Index: i, State: rcptDelivered})
	}
	for _, d := range order {
		idx := domains[d]
		errs := q.relay(ctx, d, m, idx, raw)
		for j, err := range errs {
			switch {
			case err == nil:
				done = append(done, doneEntry{Index: idx[j], State: rcptDelivered})
			case relay.IsPermanent(err):
				fails = append(fails, failureOf(idx[j], err))
			default:
				tempErr = err
			}
		}
	}
	return done, fails, tempErr
}

// deliverLocal stores raw, with a Return-Path header (RFC 5321 section
// 4.4), in the recipient's mailbox. Errors are temporary (a full disk or a
// permission problem is fixed by the operator, and the message waits)
// unless the store says retrying cannot help (store.IsPermanent: a bad
// user or mailbox name, a message too big for any mailbox).
func (q *Queue) deliverLocal(m *message, r Recipient, raw []byte) error {
	if q.opts.Deliverer == nil {
		return errors.New("no local delivery configured")
	}
	mbox := r.Mailbox
	if mbox == "" {
		mbox = "INBOX"
	}
	rp := "Return-Path: <" + m.env.From + ">\r\n"
	data := make([]byte, 0, len(rp)+len(raw))
	data = append(append(data, rp...), raw...)
	if err := q.opts.Deliverer.Deliver(r.User, mbox, data, "", m.env.Received); err != nil {
		return fmt.Errorf("deliver to %s/%s: %w", r.User, mbox, err)
	}
	q.log.Debug("delivered", "id", m.id, "user", r.User, "mailbox", mbox)
	return nil
}

// relay sends to the recipients idx of one domain through the Sender,
// holding one of the domain's concurrency slots.
func (q *Queue) relay(ctx context.Context, domain string, m *message, idx []int, raw []byte) []error {
	to := make([]string, len(idx))
	for j, i := range idx {
		to[j] = m.env.Rcpt[i].Addr
	}
	errs := make([]error, len(idx))
	if q.opts.Relay == nil {
		for j := range errs {
			errs[j] = errors.New("no relay configured")
		}
		return errs
	}
	sem, _ := q.domains.LoadOrStore(domain, make(chan struct{}, q.opts.PerDomain))
	select {
	case sem.(chan struct{}) <- struct{}{}:
	case <-ctx.Done():
		for j := range errs {
			errs[j] = ctx.Err()
		}
		return errs
	}
	defer func() { <-sem.(chan struct{}) }()
	got := q.opts.Relay.SendWith(ctx, m.env.From, to, raw, relay.Params{UTF8: m.env.UTF8, RequireTLS: m.env.RequireTLS})
	copy(errs, got)
	for j := len(got); j < len(errs); j++ {
		errs[j] = errors.New("relay returned no result")
	}
	for j, err := range errs {
		if err != nil {
			q.log.Warn("relay failed", "id", m.id, "rcpt", to[j], "permanent", relay.IsPermanent(err), "err", err)
		} else {
			q.log.Debug("relayed", "id", m.id, "rcpt", to[j])
		}
	}
	return errs
}

func localFailure(i int, err error) failure {
	status := "5.2.0"
	switch {
	case errors.Is(err, store.ErrBadUser):
		status = "5.1.1"
	case errors.Is(err, store.ErrTooBig):
		status = "5.2.3"
	}
	return failure{index: i, status: status, diag: "x-local; " + oneLine(err.Error())}
}

func failureOf(i int, err error) failure {
	f := failure{index: i, status: "5.0.0", diag: "x-sluice; " + err.Error()}
	var re *relay.Error
	if errors.As(err, &re) {
		f.status, f.diag, f.remote = re.Status(), re.Diagnostic(), re.Host
	}
	return f
}

// expire turns the recipients still pending after this attempt into
// failures: the message has been queued longer than MaxAge.
func (q *Queue) expire(m *message, done []doneEntry, fails []failure, last error) []failure {
	settled := map[int]bool{}
	for _, d := range done {
		settled[d.Index] = true
	}
	for _, f := range fails {
		settled[f.index] = true
	}
	var out []failure
	for i, s := range m.state {
		if s == rcptPending && !settled[i] {
			out = append(out, failure{index: i, status: "4.4.7",
				diag: "x-sluice; delivery time expired: " + oneLine(last.Error())})
		}
	}
	q.log.Warn("message expired", "id", m.id, "age", q.opts.Now().Sub(m.env.Received), "err", last)
	return out
}

func pendingAs(m *message, st byte) []doneEntry {
	var out []doneEntry
	for i, s := range m.state {
		if s == rcptPending {
			out = append(out, doneEntry{Index: i, State: st})
		}
	}
	return out
}
