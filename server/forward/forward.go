// Package forward prepares the mail sluice sends on to an address it was
// not sent to (a rule's redirect, an alias that points outside, a Sieve
// redirect), so that it still authenticates at the next hop: the envelope
// sender of a foreign domain is rewritten with SRS (server/srs), so that
// SPF checks our domain instead of failing the original sender's, and the
// message gets an ARC set (RFC 8617, stages/arc) that says what we saw of
// its SPF, DKIM and DMARC, for receivers that trust us as a forwarder.
//
// Forwarder is the one hook for all of it: the SMTP session calls it for
// redirects and aliases, and the Sieve interpreter calls Queue for its
// redirect action.
package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/srs"
	"github.com/sluicemail/sluice/stages/arc"
	"github.com/sluicemail/sluice/stages/resolver"
)

// Queue is what Forwarder needs of the spool (*queue.Queue).
type Queue interface {
	Put(ctx context.Context, env queue.Envelope, raw []byte) (string, error)
}

// Forwarder rewrites senders and seals messages for forwarding. A nil
// *Forwarder, or one with neither SRS nor Sealer, forwards unchanged. It
// is safe for concurrent use.
type Forwarder struct {
	SRS     *srs.Rewriter     // nil: senders are kept
	Sealer  *arc.Sealer       // nil: no ARC set is added
	DNS     resolver.Resolver // for validating the chain before sealing
	IsLocal func(domain string) bool
	Logger  *slog.Logger
}

// Prepare returns the envelope sender and the message to forward mail
// from sender with. cv is the ARC chain result if the caller has it
// (the arc facts), "" to have it validated here. The null sender stays
// null (a bounce forwarded on must not bounce back); a sender at one of
// our domains is kept, since our SPF already covers it. Nothing here
// fails: a sender that cannot be rewritten or a message that cannot be
// sealed goes on as it is, and the reason is logged.
func (f *Forwarder) Prepare(ctx context.Context, sender string, raw []byte, cv string) (string, []byte) {
	if f == nil {
		return sender, raw
	}
	return f.Sender(sender), f.Seal(ctx, raw, cv)
}

// Sender returns the envelope sender for forwarding mail from sender.
func (f *Forwarder) Sender(sender string) string {
	if f == nil || f.SRS == nil || sender == "" {
		return sender
	}
	if at := strings.LastIndexByte(sender, '@'); at >= 0 && f.IsLocal != nil && f.IsLocal(sender[at+1:]) {
		return sender
	}
	out, err := f.SRS.Forward(sender)
	if err != nil {
		f.log().Warn("forward: sender not rewritten", "sender", sender, "err", err)
		return sender
	}
	return out
}

// Seal returns raw with our ARC set on top, or raw itself when there is
// no sealer or the chain cannot take one.
func (f *Forwarder) Seal(ctx context.Context, raw []byte, cv string) []byte {
	if f == nil || f.Sealer == nil {
		return raw
	}
	out, err := f.Sealer.Seal(ctx, f.DNS, raw, cv)
	switch {
	case errors.Is(err, arc.ErrChainFailed):
		f.log().Debug("forward: ARC chain already failed, no set added")
	case err != nil:
		f.log().Warn("forward: not ARC-sealed", "err", err)
	}
	return out
}

// Queue forwards raw from sender to rcpts (addresses elsewhere) through
// q: the Sieve redirect, and anything else that forwards a message it
// holds. It returns the queue ID once the forward is on disk.
func (f *Forwarder) Queue(ctx context.Context, q Queue, sender string, rcpts []string, raw []byte, reason string) (string, error) {
	if len(rcpts) == 0 {
		return "", fmt.Errorf("forward: no recipients")
	}
	from, out := f.Prepare(ctx, sender, raw, "")
	env := queue.Envelope{From: from, Reason: reason}
	for _, r := range rcpts {
		env.Rcpt = append(env.Rcpt, queue.Recipient{Addr: r})
	}
	return q.Put(ctx, env, out)
}

func (f *Forwarder) log() *slog.Logger {
	if f.Logger != nil {
		return f.Logger
	}
	return slog.Default()
}
