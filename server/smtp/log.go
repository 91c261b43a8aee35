package smtp

import (
	"strings"
	"time"

	"github.com/sluicemail/sluice/engine"
)

// logVerdict writes the one log line of a verdict: queue id, client,
// envelope, action, the rules that fired, score, phase and time taken.
// took is measured from the start of the transaction (MAIL FROM).
func (s *session) logVerdict(queueID string, v engine.Verdict, phase engine.Phase, rcpt string) {
	rcpts := s.rcptAddrs()
	if rcpt != "" {
		rcpts = append(rcpts, rcpt)
	}
	journalID := s.journalVerdict(queueID, v, rcpt)
	attrs := []any{
		"journal", journalID, "queue_id", queueID, "session", s.id, "ip", s.ip.String(), "listener", s.kind,
		"helo", s.helo, "user", s.user, "from", s.from, "rcpt", rcpts,
		"action", v.Action, "phase", phase.String(), "rules", v.Rules(), "score", v.Score,
		"took", time.Since(s.started).Round(time.Microsecond),
	}
	if r := v.Reply(); r != "" {
		attrs = append(attrs, "reply", r)
	}
	if v.Learn != "" {
		attrs = append(attrs, "learn", v.Learn) // a rule's learn:, within the autolearner's guards
	}
	if v.Err != nil {
		attrs = append(attrs, "err", v.Err.Error())
	}
	if len(v.Stages) > 0 {
		attrs = append(attrs, "stages", v.Stages)
	}
	s.srv.log.Info("verdict", attrs...)
	s.srv.opts.Metrics.Verdict(s.pipelineName(), v)
	s.recordVerdict(journalID, queueID, v, phase, rcpts)
}

func joinComma(s []string) string { return strings.Join(s, ", ") }
