package smtp

import (
	"strings"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/queue"
)

// Forwarding: a message that leaves for an address the client did not
// name (a rule's redirect, or an alias of ours that points outside) goes
// through Options.Forward, which rewrites a foreign sender with SRS and
// adds our ARC set. This file is the one place that decides which
// recipients are forwards.

// put queues the message: the recipients it was addressed to as it is,
// the forwards apart, with the forwarding sender and the sealed text.
// Both parts are on disk before it returns nil. If the second Put fails
// the client is told to retry and the first part may arrive twice: a
// duplicate, never a loss.
func (s *session) put(env queue.Envelope, out []byte, v engine.Verdict) (string, error) {
	direct, fwd := s.forwards(env, v)
	if len(fwd) == 0 || s.srv.opts.Forward == nil {
		return s.srv.opts.Queue.Put(s.ctx, env, out)
	}
	var ids []string
	if len(direct) > 0 {
		d := env
		d.Rcpt = direct
		id, err := s.srv.opts.Queue.Put(s.ctx, d, out)
		if err != nil {
			return "", err
		}
		ids = append(ids, id)
	}
	f := env
	f.Rcpt = fwd
	f.Reason = "forward: " + env.Reason
	f.From, out = s.srv.opts.Forward.Prepare(s.ctx, env.From, out, s.arcResult())
	id, err := s.srv.opts.Queue.Put(s.ctx, f, out)
	if err != nil {
		return "", err
	}
	s.srv.log.Info("forwarded", "session", s.id, "id", id, "from", env.From, "as", f.From, "to", addrs(fwd))
	return strings.Join(append(ids, id), ","), nil
}

// forwards splits the recipients of env: the forwards are the remote
// recipients that a redirect named, or that an alias at one of our
// domains resolved to; the others (local mailboxes, and the remote
// addresses an authenticated client sent to itself) are direct.
func (s *session) forwards(env queue.Envelope, v engine.Verdict) (direct, fwd []queue.Recipient) {
	if env.Quarantine {
		return env.Rcpt, nil
	}
	viaAlias := map[string]bool{}
	if v.Action != engine.ActionRedirect {
		for _, rc := range s.rcpts {
			if _, d, ok := splitAddress(rc.addr); ok && s.srv.router.IsLocal(d) {
				for _, r := range rc.to {
					viaAlias[r.Addr] = !r.Local
				}
			}
		}
		for _, rc := range s.rcpts { // an address also named directly is direct
			if _, d, ok := splitAddress(rc.addr); ok && !s.srv.router.IsLocal(d) {
				for _, r := range rc.to {
					viaAlias[r.Addr] = false
				}
			}
		}
	}
	for _, r := range env.Rcpt {
		if !r.Local && (v.Action == engine.ActionRedirect || viaAlias[r.Addr]) {
			fwd = append(fwd, r)
		} else {
			direct = append(direct, r)
		}
	}
	return direct, fwd
}

// arcResult is the chain result the arc stage found, "" when it did not
// run (the sealer then validates the chain itself).
func (s *session) arcResult() string {
	if s.tx == nil {
		return ""
	}
	return s.tx.Facts().ARC.Chain
}

// ensureARC validates the ARC chain of inbound mail that is about to be
// forwarded and sealed, whatever the rules read, so that our
// Authentication-Results carries arc= into the seal's AAR and the seal's
// cv= comes from the same validation.
func (s *session) ensureARC(env queue.Envelope, v engine.Verdict) {
	if s.tx == nil || s.kind != MX || s.srv.opts.Forward == nil || s.srv.opts.Forward.Sealer == nil {
		return
	}
	if _, fwd := s.forwards(env, v); len(fwd) > 0 {
		s.tx.Ensure(s.ctx, "arc")
	}
}

func addrs(rs []queue.Recipient) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Addr
	}
	return out
}
