package engine

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ActionGreylist tempfails a triplet seen for the first time (or retried
// too early) and lets it pass once retried after the delay; see
// GreylistSettings. A passing greylist rule does not stop evaluation.
const ActionGreylist = "greylist"

// GreylistFacts say what the greylist action decided, for explanations and
// the journal.
type GreylistFacts struct {
	Result     string `expr:"result" doc:"greylisted, pass, temperror, or \"\" when no greylist rule fired"`
	Reason     string `expr:"reason" doc:"new, early, passed, known (passed before) or network (the client network is allowed)"`
	RetryAfter int    `expr:"retry_after" doc:"seconds until a retry can pass (when greylisted)"`
	Network    string `expr:"network" doc:"the client network of the triplet (/24 or /64)"`
}

// greylist decides a firing greylist rule: every recipient's triplet must
// pass. Each triplet is asked of the state once per message. A state that
// fails lets the message pass (greylisting is a delay, never a reason to
// refuse mail when the state is down), with result temperror.
func (tx *Tx) greylist() (pass bool, retry time.Duration) {
	f := &tx.facts.Greylist
	if tx.state == nil {
		*f = GreylistFacts{Result: "pass", Reason: "no state"}
		return true, 0
	}
	e := tx.m.Envelope
	network := "unknown"
	if e.IP.IsValid() {
		network = ClientNetwork(e.IP)
	}
	settings := tx.p.Greylist.WithDefaults()
	pass, f.Network, f.Result = true, network, "pass"
	for _, rcpt := range e.Rcpt {
		t := Triplet{Network: network, Sender: strings.ToLower(e.MailFrom), Rcpt: strings.ToLower(rcpt)}
		res, ok := tx.greylists[t.Key()]
		if !ok {
			err := errStateDown
			if !tx.stateDown {
				ctx, cancel := context.WithTimeout(tx.evalCtx(), tx.stateTimeout())
				res, err = tx.state.Greylist(ctx, t, settings)
				cancel()
				if err != nil {
					greylistWarn.warn("greylist state failed", "triplet", t.Key(), "err", err)
				}
			}
			if err != nil {
				tx.stateDown = true
				res = GreylistResult{Pass: true, Reason: "temperror"}
			}
			tx.greylists[t.Key()] = res
		}
		f.Reason = res.Reason
		if res.Reason == "temperror" {
			f.Result = "temperror"
		}
		if !res.Pass {
			pass = false
			retry = max(retry, res.RetryAfter)
		}
	}
	if !pass {
		f.Result, f.RetryAfter = "greylisted", int(retry.Round(time.Second)/time.Second)
	}
	return pass, retry
}

// greylistText is the reply of a greylisted message: it says when a retry
// passes, which the journal keeps as the reason.
func greylistText(retry time.Duration) string {
	return fmt.Sprintf("Greylisted, retry after %s", retry.Round(time.Second))
}
