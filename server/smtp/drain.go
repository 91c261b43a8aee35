package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// A graceful shutdown (RFC 5321 3.8) tells every client that is waiting
// between transactions "421 4.3.2" at once and closes its connection,
// and lets a transaction in flight run to its end (then tells that
// client too). go-smtp's own Shutdown only waits for clients to leave,
// which idle ones never do before the bound; so sluice keeps, per
// connection, whether its goroutine is blocked reading a command and
// where a reply to it must be written.

// drainPoll is how often a shutdown looks for sessions that became idle.
const drainPoll = 20 * time.Millisecond

var shutdownReply = []byte("421 4.3.2 Service shutting down, try again later\r\n")

// drainState is one connection's part in a shutdown.
type drainState struct {
	reading atomic.Bool // the session's goroutine waits for the client

	mu sync.Mutex
	// w is where a reply goes: the TCP connection, or the TLS one on top
	// of it once the session runs over TLS.
	w net.Conn
	// sess is the SMTP session, nil before the first EHLO.
	sess *session
	// tlsPending: STARTTLS has begun but no session runs over TLS yet,
	// so w would write plaintext into a TLS stream: close without a reply.
	tlsPending bool
	done       bool
}

// idle reports whether the connection waits for a command outside a
// transaction: nothing to finish, so the client may be told now.
func (d *drainState) idle() bool {
	return d.reading.Load() && (d.sess == nil || !d.sess.busy.Load())
}

// drainIfIdle tells an idle client 421 and closes its connection; it
// reports whether the connection is done.
func (c *limitedConn) drainIfIdle() bool {
	d := &c.drain
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done {
		return true
	}
	if !d.idle() {
		return false
	}
	d.done = true
	if d.w != nil && !d.tlsPending {
		d.w.SetWriteDeadline(time.Now().Add(time.Second))
		d.w.Write(shutdownReply)
	}
	c.Conn.Close() // the session's read fails and go-smtp ends it
	return true
}

// drainIdle drains the idle connections; it reports how many are busy.
func (c *connLimiter) drainIdle() int {
	c.mu.Lock()
	conns := make([]*limitedConn, 0, len(c.open))
	for lc := range c.open {
		conns = append(conns, lc)
	}
	c.mu.Unlock()
	left := 0
	for _, lc := range conns {
		if !lc.drainIfIdle() {
			left++
		}
	}
	return left
}

// limitedOf finds our connection under what go-smtp holds.
func limitedOf(c net.Conn) *limitedConn {
	for {
		switch v := c.(type) {
		case *limitedConn:
			return v
		case *tls.Conn:
			c = v.NetConn()
		case *pregreetConn:
			c = v.Conn
		default:
			return nil
		}
	}
}

// attach records the session of a connection and where to write to it;
// go-smtp makes a new session after STARTTLS, over the TLS connection.
func attach(s *session, c *gosmtp.Conn) {
	lc := limitedOf(c.Conn())
	if lc == nil {
		return
	}
	lc.drain.mu.Lock()
	lc.drain.sess, lc.drain.w, lc.drain.tlsPending = s, c.Conn(), false
	lc.drain.mu.Unlock()
}

// startTLSConfig is the server's TLS configuration as given to go-smtp
// for STARTTLS: it notes, at the handshake, that the connection's plain
// writer is no longer usable.
func startTLSConfig(cfg *tls.Config) *tls.Config {
	if cfg == nil {
		return nil
	}
	c := cfg.Clone()
	next := cfg.GetConfigForClient
	c.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if lc := limitedOf(hello.Conn); lc != nil {
			lc.drain.mu.Lock()
			lc.drain.tlsPending = true
			lc.drain.mu.Unlock()
		}
		if next != nil {
			return next(hello)
		}
		return nil, nil
	}
	return c
}

// tlsListener is tls.NewListener that also records the TLS connection as
// the place to write a shutdown reply (implicit TLS, port 465).
type tlsListener struct {
	net.Listener
	cfg *tls.Config
}

func (l *tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := tls.Server(c, l.cfg)
	if lc := limitedOf(c); lc != nil {
		lc.drain.mu.Lock()
		lc.drain.w = tc
		lc.drain.mu.Unlock()
	}
	return tc, nil
}

// Shutdown stops accepting connections, tells the clients waiting between
// transactions 421 4.3.2 at once, and those in a transaction as soon as
// it ends, until ctx ends; then it closes the remaining connections. A
// transaction cut off that way was not acknowledged, so nothing is lost.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	servers := append([]*gosmtp.Server(nil), s.servers...)
	s.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(servers))
	for i, gs := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := gs.Shutdown(ctx); err != nil && !errors.Is(err, gosmtp.ErrServerClosed) {
				errs[i] = err
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
wait:
	for {
		s.conns.drainIdle()
		select {
		case <-done:
			break wait
		case <-ctx.Done():
			break wait
		case <-tick.C:
		}
	}
	wg.Wait()
	s.conns.closeAll() // sessions still open after the bound are cut
	return errors.Join(errs...)
}
