package imap

import "net"

// quickAck wraps an accepted connection so that the kernel acknowledges
// what the server has read at once instead of delaying the ACK.
//
// Why: a client that leaves Nagle's algorithm on (the default of a C
// socket) sends an APPEND literal in several writes and holds back the
// last small one until the server has ACKed the first. The server has
// nothing to answer before the literal is complete, so Linux delays its
// ACK (40 ms or more once the connection is interactive): every APPEND
// stalled that long. Dovecot re-arms TCP_QUICKACK each time it flushes
// output for the same reason (lib/ostream-file.c). Re-arming it after
// each read covers a literal sent after the continuation and a
// LITERAL+ one alike; the kernel clears the mode by itself, so it has
// to be set again each time.
func quickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &quickAckConn{TCPConn: tc, set: func() { raw.Control(setQuickAck) }}
}

// quickAckConn is a TCP connection that re-arms quick ACKs after reads.
type quickAckConn struct {
	*net.TCPConn
	set func()
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	if n > 0 && quickAckSupported {
		c.set()
	}
	return n, err
}
