package smtp

import (
	"errors"
	"net"
	"time"
)

// pregreetListener makes the MX listener wait before its greeting and
// drop clients that talk first. A real MTA waits for the 220 (RFC 5321
// 3.1); spam bots often do not (Postfix postscreen's pregreet test).
type pregreetListener struct {
	net.Listener
	delay   time.Duration
	onEarly func() string // counts the client and returns the reply line
}

func (l *pregreetListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &pregreetConn{Conn: c, delay: l.delay, onEarly: l.onEarly}, nil
}

// pregreetConn checks, at the server's first write (the greeting), whether
// the client sent anything during the delay.
type pregreetConn struct {
	net.Conn
	delay   time.Duration
	onEarly func() string
	checked bool
}

var errPregreet = errors.New("smtp: client talked before the greeting")

func (c *pregreetConn) Write(b []byte) (int, error) {
	if c.checked {
		return c.Conn.Write(b)
	}
	c.checked = true
	time.Sleep(c.delay)
	var probe [1]byte
	// A deadline already past would fail the read before looking at the
	// socket; a short one reads what is buffered.
	c.Conn.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
	n, _ := c.Conn.Read(probe[:])
	c.Conn.SetReadDeadline(time.Time{})
	if n > 0 {
		if lc := limitedOf(c.Conn); lc != nil {
			lc.tally.pregreet.Store(true)
		}
		c.Conn.Write([]byte(c.onEarly() + "\r\n"))
		c.Conn.Close()
		return 0, errPregreet
	}
	return c.Conn.Write(b)
}

// pregreetText is the refusal of an early talker.
const pregreetText = "Protocol error: you talked before the greeting"

// pregreetReply counts an early talker and returns its refusal. The line
// is written straight to the connection, before go-smtp has a session and
// its RewriteReply hook, so soft bounce is applied here: during a
// migration a sending server that talks too early must retry, not bounce.
func (s *Server) pregreetReply() string {
	s.opts.Metrics.Pregreet.Add(1)
	if !s.opts.SoftBounce {
		return "554 5.5.1 " + pregreetText
	}
	s.log.Warn("soft_bounce: a permanent refusal was sent as temporary", "code", 554, "enhanced", "5.5.1", "text", pregreetText, "sent", 454)
	return "454 4.5.1 " + pregreetText
}
