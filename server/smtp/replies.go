package smtp

import (
	"strconv"

	gosmtp "github.com/emersion/go-smtp"
)

// replyHook is a listener's RewriteReply hook (the fork's: it sees every
// reply, go-smtp's own as well as the session's): soft bounce rewrites a
// permanent refusal first when it is on, then the reply as sent is
// counted by its code class for sluice_smtp_replies_total.
func (s *Server) replyHook(kind string) func(*gosmtp.Conn, int, gosmtp.EnhancedCode, []string) (int, gosmtp.EnhancedCode) {
	return func(c *gosmtp.Conn, code int, enh gosmtp.EnhancedCode, text []string) (int, gosmtp.EnhancedCode) {
		if s.opts.SoftBounce {
			code, enh = s.softBounce(c, code, enh, text)
		}
		s.opts.Metrics.Reply(kind, code)
		return code, enh
	}
}

// Reply counts one reply sent on a listener, by class: "2xx", "3xx",
// "4xx", "5xx".
func (m *Metrics) Reply(listener string, code int) {
	class := "other"
	if code >= 200 && code <= 599 {
		class = strconv.Itoa(code/100) + "xx"
	}
	m.replies.WithLabelValues(listener, class).Inc()
}
