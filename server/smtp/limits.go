package smtp

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// connLimiter bounds concurrent connections in total and per client IP.
// It wraps listeners: a connection over a limit is told 421 and closed
// before the session starts (RFC 5321 3.8).
type connLimiter struct {
	max, perIP int
	idle       time.Duration // read timeout while data arrives

	mu    sync.Mutex
	total int
	byIP  map[string]int
	open  map[*limitedConn]struct{}
}

func newConnLimiter(max, perIP int, idle time.Duration) *connLimiter {
	return &connLimiter{max: max, perIP: perIP, idle: idle, byIP: map[string]int{}, open: map[*limitedConn]struct{}{}}
}

// closeAll closes every open connection (the end of a shutdown's bound:
// go-smtp's Close does nothing once Shutdown has begun).
func (c *connLimiter) closeAll() {
	c.mu.Lock()
	conns := make([]*limitedConn, 0, len(c.open))
	for lc := range c.open {
		conns = append(conns, lc)
	}
	c.mu.Unlock()
	for _, lc := range conns {
		lc.Conn.Close()
	}
}

// wrap limits l; greet says whether a refused client is told 421 (not on
// an implicit-TLS port, where plaintext would be noise). ended, if not
// nil, is called once when an accepted connection closes.
func (c *connLimiter) wrap(l net.Listener, greet bool, ended func(*limitedConn)) net.Listener {
	return &limitedListener{Listener: l, c: c, greet: greet, ended: ended}
}

func (c *connLimiter) acquire(ip string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.total >= c.max || c.byIP[ip] >= c.perIP {
		return false
	}
	c.total++
	c.byIP[ip]++
	return true
}

func (c *connLimiter) release(ip string, lc *limitedConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.open, lc)
	c.total--
	if c.byIP[ip]--; c.byIP[ip] <= 0 {
		delete(c.byIP, ip)
	}
}

type limitedListener struct {
	net.Listener
	c     *connLimiter
	greet bool
	ended func(*limitedConn)
}

func (l *limitedListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := hostOf(conn.RemoteAddr())
		if l.c.acquire(ip) {
			lc := &limitedConn{Conn: conn, idle: l.c.idle}
			lc.drain.w = lc
			lc.release = func() {
				l.c.release(ip, lc)
				if l.ended != nil {
					l.ended(lc)
				}
			}
			l.c.mu.Lock()
			l.c.open[lc] = struct{}{}
			l.c.mu.Unlock()
			return lc, nil
		}
		if !l.greet {
			conn.Close()
			continue
		}
		// Refuse in the background: a slow client must not hold up Accept.
		go func() {
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			conn.Write([]byte("421 4.7.0 Too many connections, try again later\r\n"))
			conn.Close()
		}()
	}
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
	idle    time.Duration
	pushed  time.Time
	drain   drainState // what shutdown needs (drain.go)
	tally   connTally  // what its transactions ended in, for the metrics
}

// connTally is what one connection's transactions ended in, for
// sluice_smtp_sessions_total when it closes. It lives on the connection
// because go-smtp makes a new session object after STARTTLS.
type connTally struct {
	accepted, refused atomic.Int64
	pregreet          atomic.Bool
}

// outcome is the connection's outcome label.
func (t *connTally) outcome() string {
	switch {
	case t.pregreet.Load():
		return sessionPregreet
	case t.accepted.Load() > 0:
		return sessionAccepted
	case t.refused.Load() > 0:
		return sessionRefused
	}
	return sessionEmpty
}

// Read pushes the read deadline on while data arrives. go-smtp sets one
// deadline per command, so a large DATA on a slow link would hit it
// however steadily it came; this makes the limit one on silence (RFC 5321
// 4.5.3.2: a timeout per data block, not per message).
func (c *limitedConn) Read(p []byte) (int, error) {
	c.drain.reading.Store(true)
	n, err := c.Conn.Read(p)
	c.drain.reading.Store(false)
	if n > 0 && c.idle > 0 {
		if now := time.Now(); now.Sub(c.pushed) > time.Second { // not a syscall per read
			c.pushed = now
			c.Conn.SetReadDeadline(now.Add(c.idle))
		}
	}
	return n, err
}

func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

// authLimiter counts failed AUTH attempts per IP; at max failures the IP
// may not try again for ban. Successful logins do not reset the count, so
// a guesser cannot interleave a known password.
type authLimiter struct {
	max    int
	ban    time.Duration
	now    func() time.Time
	shared Bans // nil: this node's count alone (sharedbans.go)
	// sharedDownUntil is when the shared store may be asked again after
	// a failure (UnixNano; sharedbans.go).
	sharedDownUntil atomic.Int64

	mu    sync.Mutex
	fails map[string]*authFailures
}

type authFailures struct {
	n     int
	first time.Time
	until time.Time
}

func newAuthLimiter(max int, ban time.Duration, shared Bans) *authLimiter {
	return &authLimiter{max: max, ban: ban, now: time.Now, shared: shared, fails: map[string]*authFailures{}}
}

// blocked reports whether ip is banned now, here or on another node.
func (a *authLimiter) blocked(ip string) bool {
	a.mu.Lock()
	f := a.fails[ip]
	local := f != nil && a.now().Before(f.until)
	a.mu.Unlock()
	return local || a.sharedBanned(ip)
}

// fail records a failure; the count starts over after ban without one.
func (a *authLimiter) fail(ip string) {
	a.sharedFail(ip)
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	f := a.fails[ip]
	if f == nil || (now.Sub(f.first) > a.ban && now.After(f.until)) {
		f = &authFailures{first: now}
		a.fails[ip] = f
	}
	f.n++
	if f.n >= a.max {
		f.until = now.Add(a.ban)
		f.n = 0
		f.first = now
	}
	if len(a.fails) > 100000 { // bound memory under a distributed attack
		for k, v := range a.fails {
			if now.After(v.until) && now.Sub(v.first) > a.ban {
				delete(a.fails, k)
			}
		}
	}
}
