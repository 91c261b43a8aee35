package engine

import (
	"context"
	"errors"
	"strings"
	"time"
)

// errStateDown stands for the state's answer once it failed for this
// message (Tx.stateDown).
var errStateDown = errors.New("the state failed earlier for this message")

// RateFacts are the rate limits a message was counted against, so that an
// explanation shows the count that made a rule fire.
type RateFacts struct {
	Result string      `expr:"result" doc:"ok, exceeded (a limit was passed), temperror (the state did not answer) or \"\" (no limit counted)"`
	Checks []RateCheck `expr:"checks" doc:"one entry per rate_exceeded call, in the order they were made"`
}

// RateCheck is one counted limit.
type RateCheck struct {
	Name     string `expr:"name" doc:"the limit's name"`
	Key      string `expr:"key" doc:"what was counted (a user, an IP, a domain)"`
	Limit    string `expr:"limit" doc:"the limit as written"`
	Count    int    `expr:"count" doc:"events in the window, this message included unless it exceeded"`
	Exceeded bool   `expr:"exceeded" doc:"whether this message passed the limit"`
	Result   string `expr:"result" doc:"ok, exceeded or temperror"`
}

// rateMemo is what one rate_exceeded call site counted for this message:
// a message evaluated at several SMTP phases is counted once, and again
// only for the events added since (recipients arriving one by one).
type rateMemo struct {
	index    int // in facts.Rate.Checks
	counted  int
	exceeded bool
	failed   bool // the state did not answer: not asked again for this message
}

// stateTimeout bounds one call to the state, as a stage is bounded.
func (tx *Tx) stateTimeout() time.Duration {
	if tx.p.StageTimeout > 0 {
		return tx.p.StageTimeout
	}
	return DefaultStageTimeout
}

// rateExceeded implements rate_exceeded(_by). A state that fails makes the
// check temperror and the limit not exceeded: a broken Redis must not
// refuse all mail; rules that want the opposite read rate.result.
func (tx *Tx) rateExceeded(name, key, limit string, n int) bool {
	rate, err := ParseRate(limit)
	if err != nil {
		panic(err) // a limit built at run time: expr turns this into the rule's error
	}
	if tx.state == nil {
		return false
	}
	memoKey := name + "\x00" + key + "\x00" + limit
	m, ok := tx.rates[memoKey]
	if !ok {
		m = &rateMemo{index: len(tx.facts.Rate.Checks)}
		tx.rates[memoKey] = m
		tx.facts.Rate.Checks = append(tx.facts.Rate.Checks, RateCheck{Name: name, Key: key, Limit: limit})
	}
	if m.exceeded || m.failed || n <= m.counted {
		return m.exceeded
	}
	check := &tx.facts.Rate.Checks[m.index]
	var count int
	var exceeded bool
	err = errStateDown
	if !tx.stateDown {
		ctx, cancel := context.WithTimeout(tx.evalCtx(), tx.stateTimeout())
		count, exceeded, err = tx.state.RateHit(ctx, RateKey(name, key, rate), rate, n-m.counted)
		cancel()
	}
	switch {
	case err != nil:
		if !tx.stateDown {
			rateWarn.warn("rate limit state failed", "limit", name, "key", key, "err", err)
		}
		tx.stateDown = true
		check.Result = "temperror"
		m.failed = true
	case exceeded:
		check.Count, check.Exceeded, check.Result = count, true, "exceeded"
		m.exceeded = true
	default:
		check.Count, check.Result = count, "ok"
		m.counted = n
	}
	tx.facts.Rate.Result = rateSummary(tx.facts.Rate.Checks)
	return m.exceeded
}

// RateKey names a counter in a state: the limit's name, its period (two
// limits of one name and different periods count apart) and the key.
func RateKey(name, key string, r Rate) string {
	return name + "|" + r.Per.String() + "|" + strings.ToLower(key)
}

func rateSummary(cs []RateCheck) string {
	out := "ok"
	for _, c := range cs {
		switch c.Result {
		case "exceeded":
			out = "exceeded"
		case "temperror":
			if out == "ok" {
				out = "temperror"
			}
		}
	}
	return out
}

// evalCtx is the context of the Evaluate in progress (expr functions take
// none of their own).
func (tx *Tx) evalCtx() context.Context {
	if tx.ctx != nil {
		return tx.ctx
	}
	return context.Background()
}
