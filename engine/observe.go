package engine

import (
	"context"
	"errors"
	"time"
)

// StageObserver is told how each stage run of a transaction ended and how
// long it took (the server's stage duration metrics). Outcome is ok,
// temperror, permerror or timeout. It must be safe for concurrent use:
// independent stages run in parallel.
type StageObserver func(stage, outcome string, took time.Duration)

// WithStageObserver makes the transaction report each stage run to o.
func WithStageObserver(o StageObserver) TxOption { return func(tx *Tx) { tx.observe = o } }

// stageOutcome classifies a finished stage run: its error if it failed,
// else the result it recorded in its namespace (a stage that could not
// finish a lookup records temperror itself rather than failing).
func (tx *Tx) stageOutcome(ctx context.Context, ns string, err error) string {
	switch {
	case err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded)):
		return "timeout"
	case err != nil:
		return "temperror"
	}
	if m, ok := FactsMap(&tx.facts, []string{ns})[ns].(map[string]any); ok {
		if r, _ := m["result"].(string); r == "temperror" || r == "permerror" {
			return r
		}
	}
	return "ok"
}

// WithDNSDegraded sets the dns.degraded fact: the server's resolver was
// failing when the transaction began.
func WithDNSDegraded(degraded bool) TxOption {
	return func(tx *Tx) { tx.facts.DNS.Degraded = degraded }
}
