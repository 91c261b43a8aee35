package smtp

import (
	"fmt"
	"strings"

	gosmtp "github.com/emersion/go-smtp"
)

// Soft bounce, as Postfix's soft_bounce: during a migration a mistake in
// the new server (a missing account, a rule too strict, a limit too low)
// must cost a delay, not a lost message. Every permanent reply (5xx) is
// sent as its temporary twin (4xx, enhanced code 4.x.x), so the sending
// server keeps the message and retries, and the reply that would have
// been sent is logged for the operator to fix. Authentication replies are
// the exception: a wrong password or a missing AUTH refuses no message,
// and a temporary code there would only make a client retry the same
// credentials.

// authReplyCodes are the RFC 4954 codes left permanent.
var authReplyCodes = map[int]bool{530: true, 534: true, 535: true, 538: true}

// softBounce is the RewriteReply hook of every listener when SoftBounce
// is on.
func (s *Server) softBounce(c *gosmtp.Conn, code int, enh gosmtp.EnhancedCode, text []string) (int, gosmtp.EnhancedCode) {
	if code < 500 || code > 599 || authReplyCodes[code] {
		return code, enh
	}
	orig := enh
	if enh != gosmtp.EnhancedCodeNotSet && enh != gosmtp.NoEnhancedCode && enh[0] == 5 {
		enh[0] = 4
	}
	args := []any{"code", code, "enhanced", enhancedString(orig), "text", strings.Join(text, " "), "sent", code - 100}
	if c != nil && c.Conn() != nil {
		args = append(args, "client", c.Conn().RemoteAddr().String())
		if lc := limitedOf(c.Conn()); lc != nil {
			lc.drain.mu.Lock()
			if sess := lc.drain.sess; sess != nil {
				args = append(args, "session", sess.id, "from", sess.from)
			}
			lc.drain.mu.Unlock()
		}
	}
	s.log.Warn("soft_bounce: a permanent refusal was sent as temporary", args...)
	return code - 100, enh
}

func enhancedString(e gosmtp.EnhancedCode) string {
	if e == gosmtp.EnhancedCodeNotSet || e == gosmtp.NoEnhancedCode {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", e[0], e[1], e[2])
}
