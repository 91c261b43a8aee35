package queue

import "errors"

// errSoftBounced is the deferral reason of a recipient whose permanent
// failure soft_bounce kept in the queue.
var errSoftBounced = errors.New("soft_bounce: a permanent failure was deferred")

// softBounce keeps permanently failed recipients pending, as Postfix's
// soft_bounce does during a migration: no DSN goes out, the message is
// retried on the usual schedule, and the failure is logged with its
// original diagnostic so the operator can fix its cause. It returns the
// failures left to bounce (none when SoftBounce is on) and the deferral
// error to use.
func (q *Queue) softBounce(m *message, fails []failure, tempErr error) ([]failure, error) {
	if !q.opts.SoftBounce || len(fails) == 0 {
		return fails, tempErr
	}
	for _, f := range fails {
		q.log.Warn("soft_bounce: a permanent delivery failure was deferred, not bounced",
			"id", m.id, "rcpt", m.env.Rcpt[f.index].Addr, "status", f.status, "diagnostic", f.diag, "remote", f.remote)
	}
	if tempErr == nil {
		tempErr = errSoftBounced
	}
	return nil, tempErr
}
