package main

import (
	"net"
	"sync/atomic"
	"time"
)

// serverClock measures a step's time on the server side of sluice's
// socket: from the moment the server's read of the step's first command
// returns to the moment its last write (the tagged answer) returns. The
// client's own time (decoding 10,000 envelopes in go-imap) is not in it;
// the server's TLS encryption and write(2) calls are. Dovecot runs in
// its own processes, so only sluice has this clock.
//
// Only connections accepted while the clock is armed (the warm steps'
// session) are timed: the wrapper hides the *net.TCPConn from the server,
// which then cannot set TCP_QUICKACK, and the APPEND row over a socket
// with Nagle on would stall on every message.
type serverClock struct {
	armed     atomic.Bool
	firstRead atomic.Int64 // Unix ns of the first read after mark, 0 before
	lastWrite atomic.Int64 // Unix ns of the latest write
}

// arm times the connections accepted from now on (on) or none (off).
func (c *serverClock) arm(on bool) { c.armed.Store(on) }

// mark starts a step: the next read is its command.
func (c *serverClock) mark() {
	c.firstRead.Store(0)
	c.lastWrite.Store(0)
}

// elapsed is the server time of the step since mark, 0 if none was seen.
func (c *serverClock) elapsed() time.Duration {
	r, w := c.firstRead.Load(), c.lastWrite.Load()
	if r == 0 || w < r {
		return 0
	}
	return time.Duration(w - r)
}

// listener wraps ln so that every accepted connection reports to c.
func (c *serverClock) listener(ln net.Listener) net.Listener { return clockListener{ln, c} }

type clockListener struct {
	net.Listener
	clock *serverClock
}

func (l clockListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil || !l.clock.armed.Load() {
		return conn, err
	}
	return clockConn{conn, l.clock}, nil
}

type clockConn struct {
	net.Conn
	clock *serverClock
}

func (c clockConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.clock.firstRead.CompareAndSwap(0, time.Now().UnixNano())
	}
	return n, err
}

func (c clockConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.clock.lastWrite.Store(time.Now().UnixNano())
	return n, err
}
