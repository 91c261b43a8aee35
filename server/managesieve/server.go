// Package managesieve serves ManageSieve (RFC 5804), the protocol
// Roundcube, Thunderbird's sieve add-on and sieve-connect use to edit a
// user's Sieve scripts: STARTTLS, AUTHENTICATE PLAIN with sluice
// accounts, then PUTSCRIPT, CHECKSCRIPT, SETACTIVE, GETSCRIPT,
// LISTSCRIPTS, DELETESCRIPT, RENAMESCRIPT, HAVESPACE and CAPABILITY on
// the scripts of server/sieve/scripts.
package managesieve

import (
	"bufio"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/sluicemail/sluice/server/sieve/scripts"
)

// Authenticator checks a user's password (*auth.Accounts).
type Authenticator interface {
	Authenticate(user, pass string) error
}

// Options configure a Server.
type Options struct {
	Scripts   *scripts.Store
	Auth      Authenticator
	TLSConfig *tls.Config // nil: no STARTTLS, and so no AUTHENTICATE
	// Timeout ends a session idle for this long (RFC 5804 section 1.6
	// asks for at least 30 minutes of patience... from clients; 30m).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Server is a ManageSieve listener.
type Server struct {
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	lns    []net.Listener
	conns  map[net.Conn]bool
	closed bool
	wg     sync.WaitGroup
}

// New returns a server; Serve starts it on a listener.
func New(opts Options) *Server {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Server{opts: opts, log: opts.Logger, conns: map[net.Conn]bool{}}
}

// Serve accepts sessions on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if !s.track(c, true) {
			c.Close()
			return nil
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.track(c, false)
			s.session(c)
		}()
	}
}

func (s *Server) track(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closed {
			return false
		}
		s.conns[c] = true
		return true
	}
	delete(s.conns, c)
	return true
}

// Close stops the listeners and ends the sessions.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Server) session(c net.Conn) {
	defer c.Close()
	ss := &session{srv: s, conn: c}
	ss.setConn(c)
	ss.run()
}

func (ss *session) setConn(c net.Conn) {
	ss.conn = c
	ss.rd = &reader{r: bufio.NewReader(c), maxLit: ss.srv.opts.Scripts.MaxSize + 1024}
	ss.w = bufio.NewWriter(c)
}
