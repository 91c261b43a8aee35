package imap

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2/imapserver"
)

// A graceful shutdown says "* BYE" (RFC 3501 7.1.5) at once to every
// client that waits for its next command, IDLE included, and lets a
// command being carried out (an APPEND being stored, a long FETCH) end
// first. go-imap's Close cuts every connection at once, so the server
// keeps its own list of connections, and of which wait for the client.

// drainPoll is how often a shutdown looks for sessions that became idle.
const drainPoll = 20 * time.Millisecond

// tracker holds the server's listeners and open connections.
type tracker struct {
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*trackedConn]struct{}
}

// listen wraps ln so that its connections are tracked.
func (t *tracker) listen(ln net.Listener) net.Listener {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.listeners == nil {
		t.listeners, t.conns = map[net.Listener]struct{}{}, map[*trackedConn]struct{}{}
	}
	tl := &trackedListener{Listener: ln, t: t}
	t.listeners[tl] = struct{}{}
	return tl
}

type trackedListener struct {
	net.Listener
	t *tracker
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: quickAck(c), t: l.t}
	l.t.mu.Lock()
	l.t.conns[tc] = struct{}{}
	l.t.mu.Unlock()
	return tc, nil
}

// trackedConn knows whether its session waits for the client.
type trackedConn struct {
	net.Conn
	t       *tracker
	reading atomic.Bool
	imap    atomic.Pointer[imapserver.Conn] // set when the session starts
	once    sync.Once
}

func (c *trackedConn) Read(p []byte) (int, error) {
	c.reading.Store(true)
	n, err := c.Conn.Read(p)
	c.reading.Store(false)
	return n, err
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.t.mu.Lock()
		delete(c.t.conns, c)
		c.t.mu.Unlock()
	})
	return c.Conn.Close()
}

// started records the go-imap connection of a new session.
func (t *tracker) started(c *imapserver.Conn) {
	nc := c.NetConn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if tc, ok := nc.(*trackedConn); ok {
		tc.imap.Store(c)
	}
}

// byeIdle says BYE to the connections that wait for the client and
// closes them; it reports how many connections are left.
func (t *tracker) byeIdle() int {
	t.mu.Lock()
	conns := make([]*trackedConn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	left := 0
	for _, c := range conns {
		if !c.reading.Load() {
			left++
			continue
		}
		if ic := c.imap.Load(); ic != nil {
			ic.Bye("Server shutting down, try again later")
		}
		c.Close()
	}
	return left
}

// Shutdown stops accepting connections, says BYE at once to the clients
// waiting for their next command and to the others when their command
// is done, until ctx ends; then it closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.track.mu.Lock()
	for l := range s.track.listeners {
		l.Close()
	}
	s.track.mu.Unlock()
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for s.track.byeIdle() > 0 {
		select {
		case <-ctx.Done():
			s.imap.Close()
			return ctx.Err()
		case <-tick.C:
		}
	}
	s.imap.Close()
	return nil
}

// idleGuard keeps Close from running under an IDLE that is still winding
// down: go-imap (v2.0.0-beta.8, handleIdle) returns on a read error, such
// as the connection closed by a shutdown or a client gone, without
// waiting for the goroutine running Session.Idle, and then closes the
// session. The lock makes Close wait for Idle to return (it returns at
// once, its stop channel being closed), or Idle find the session closed.
type idleGuard struct {
	*session
	mu sync.Mutex
}

func (g *idleGuard) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.session.Idle(w, stop)
}

func (g *idleGuard) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.srv.opts.Metrics.ended(g.acct != nil) // go-imap closes a session once, at its end
	g.session.stopNotify()
	return g.session.Close()
}
