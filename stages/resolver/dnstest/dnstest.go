// Package dnstest runs an in-process authoritative DNS server on loopback
// that answers from zone data (RFC 1035 master files loaded into a
// resolver.Zone), so tests exercise the real network path of the resolver:
// UDP, truncation (RFC 1035 section 4.2.1) and the TCP retry (RFC 7766).
// Names made to fail with Zone.Fail get no answer at all (ErrTimeout) or
// SERVFAIL (any other error). The server counts what it is asked.
package dnstest

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/sluicemail/sluice/stages/resolver"
)

// Server is a running test server.
type Server struct {
	// Addr is the "127.0.0.1:port" the server listens on, UDP and TCP.
	Addr string

	zone        *resolver.Zone
	delay       atomic.Int64 // nanoseconds to wait before answering
	queries     atomic.Int64
	tcpQueries  atomic.Int64
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
	mu          sync.Mutex
	perName     map[string]int
	running     []*dns.Server // nil while stopped
}

// Start starts a server answering from zone and returns its address; it
// stops when the test ends.
func Start(t testing.TB, zone *resolver.Zone) string {
	t.Helper()
	return StartServer(t, zone).Addr
}

// StartServer is Start returning the Server, for tests that count queries.
func StartServer(t testing.TB, zone *resolver.Zone) *Server {
	t.Helper()
	s := &Server{zone: zone, perName: map[string]int{}}
	pc, ln := listen(t)
	s.Addr = pc.LocalAddr().String()
	s.serve(pc, ln)
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) serve(pc net.PacketConn, ln net.Listener) {
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: ln, Handler: s}
	for _, srv := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
	}
	s.mu.Lock()
	s.running = []*dns.Server{udp, tcp}
	s.mu.Unlock()
}

// Stop closes the server's sockets, as a DNS server that went away: UDP
// queries to it then fail (port unreachable) and TCP is refused. Restart
// brings it back on the same address.
func (s *Server) Stop() {
	s.mu.Lock()
	running := s.running
	s.running = nil
	s.mu.Unlock()
	for _, srv := range running {
		_ = srv.Shutdown()
	}
}

// Restart serves again on the address of a stopped server.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	pc, err := net.ListenPacket("udp", s.Addr)
	if err != nil {
		t.Fatalf("dnstest: restart: %v", err)
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		pc.Close()
		t.Fatalf("dnstest: restart: %v", err)
	}
	s.serve(pc, ln)
}

// listen opens UDP and TCP on the same loopback port, retrying when the
// TCP port happens to be taken.
func listen(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: %v", err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		lastErr = err
		pc.Close()
	}
	t.Fatalf("dnstest: no free port for UDP and TCP: %v", lastErr)
	return nil, nil
}

// SetDelay makes the server wait d before each answer, so that tests can
// observe queries in flight.
func (s *Server) SetDelay(d time.Duration) { s.delay.Store(int64(d)) }

// Queries returns how many queries the server received (UDP and TCP).
func (s *Server) Queries() int { return int(s.queries.Load()) }

// TCPQueries returns how many of them came over TCP.
func (s *Server) TCPQueries() int { return int(s.tcpQueries.Load()) }

// QueriesFor returns how many queries asked about name (any type).
func (s *Server) QueriesFor(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perName[dns.CanonicalName(name)]
}

// MaxInFlight returns the most queries the server was handling at once.
func (s *Server) MaxInFlight() int { return int(s.maxInFlight.Load()) }

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	// A query counts as in flight until its answer is about to be
	// written: once written, the client may already send the next one.
	n := s.inFlight.Add(1)
	var once sync.Once
	done := func() { once.Do(func() { s.inFlight.Add(-1) }) }
	defer done()
	for {
		old := s.maxInFlight.Load()
		if n <= old || s.maxInFlight.CompareAndSwap(old, n) {
			break
		}
	}
	s.queries.Add(1)
	_, isTCP := w.RemoteAddr().(*net.TCPAddr)
	if isTCP {
		s.tcpQueries.Add(1)
	}
	if d := time.Duration(s.delay.Load()); d > 0 {
		time.Sleep(d)
	}
	m := new(dns.Msg)
	if len(r.Question) != 1 {
		m.SetRcode(r, dns.RcodeFormatError)
		done()
		_ = w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	s.mu.Lock()
	s.perName[dns.CanonicalName(q.Name)]++
	s.mu.Unlock()
	res, err := s.zone.Lookup(q.Name, q.Qtype)
	if errors.Is(err, resolver.ErrTimeout) {
		return // a server that does not answer
	}
	if err != nil {
		m.SetRcode(r, dns.RcodeServerFailure)
		done()
		_ = w.WriteMsg(m)
		return
	}
	s.write(w, r, m, res, isTCP, done)
}

// write sends the answer, truncated to the client's UDP size (512 without
// EDNS0) when it came over UDP.
func (s *Server) write(w dns.ResponseWriter, r, m *dns.Msg, res *resolver.ZoneResult, isTCP bool, done func()) {
	m.SetReply(r)
	m.Authoritative = true
	m.Answer = res.Chain
	if res.Status == resolver.NXDomain {
		m.Rcode = dns.RcodeNameError
	}
	if res.Status != resolver.Success && res.SOA != nil {
		m.Ns = []dns.RR{res.SOA}
	}
	size := dns.MinMsgSize
	if opt := r.IsEdns0(); opt != nil {
		size = max(int(opt.UDPSize()), dns.MinMsgSize)
		m.SetEdns0(opt.UDPSize(), false)
	}
	if !isTCP {
		m.Truncate(size)
	}
	done()
	_ = w.WriteMsg(m)
}
