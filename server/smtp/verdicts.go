package smtp

import (
	"slices"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/verdicts"
)

// VerdictSink receives every verdict the server logs (the console's live
// list, through verdicts.Ring).
type VerdictSink interface {
	Add(verdicts.Verdict)
}

// recordVerdict hands a logged verdict to the sink with what the console
// shows of it: envelope, header, rules fired and the facts they read.
func (s *session) recordVerdict(queueID string, v engine.Verdict, phase engine.Phase, rcpts []string) {
	sink := s.srv.opts.Verdicts
	if sink == nil {
		return
	}
	rec := verdicts.Verdict{
		QueueID: queueID, Listener: s.kind, Pipeline: s.pipelineName(), Phase: phase.String(),
		IP: s.ip.String(), HELO: s.helo, User: s.user, MailFrom: s.from, Rcpt: rcpts,
		Action: v.Action, Reply: v.Reply(), Score: v.Score, Stages: v.Stages,
	}
	if v.Err != nil {
		rec.Err = v.Err.Error()
	}
	for _, f := range v.Fired {
		rec.Rules = append(rec.Rules, verdicts.Rule{Name: f.Name, Score: f.Score, Action: f.Action})
	}
	if s.msg != nil && s.msg.Raw != nil {
		h := s.msg.Header()
		rec.Subject, rec.From = h.Get("Subject"), h.Get("From")
	}
	if s.tx != nil {
		ns := append([]string{"conn", "auth", "envelope", "dns"}, v.Stages...)
		if s.msg != nil && s.msg.Raw != nil {
			ns = append(ns, "msg")
		}
		rec.Facts = engine.FactsMap(s.tx.Facts(), slices.Compact(ns))
	}
	sink.Add(rec)
}
