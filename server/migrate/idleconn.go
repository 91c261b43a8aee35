package migrate

import (
	"net"
	"time"
)

// DefaultIMAPTimeout is how long the source may stay silent, or refuse
// to take what is sent, before the import gives up on the connection.
const DefaultIMAPTimeout = 5 * time.Minute

// idleConn fails a read or a write that makes no progress for idle. The
// IMAP client bounds the wait for a response's first line and for each
// literal, but waits without limit between responses (for a tagged reply
// after a long FETCH): a source that stalls with its TCP connection open
// would hang the import for ever, holding one of the bounded jobs. Every
// Read and Write renews its own deadline, so a 20 MB message that keeps
// arriving is never cut off; only silence is.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.idle))
	return c.Conn.Write(p)
}
