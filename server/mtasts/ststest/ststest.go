// Package ststest serves MTA-STS policy files (RFC 8461 section 3.3) over
// HTTPS on a loopback port, with a certificate from a test CA, for the
// tests of the fetcher and of the relay that applies the policies.
package ststest

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/certs/certstest"
)

// Server answers GET /.well-known/mta-sts.txt for every host it has a
// policy for; the others get 404.
type Server struct {
	Port int
	Hits atomic.Int64 // policy requests answered

	mu       sync.Mutex
	policies map[string]string // by host, "mta-sts.example.net"
	// ContentType overrides text/plain, to test the check on it.
	ContentType string
}

// Start starts a server whose certificate, signed by ca, names every
// host given; it stops when the test ends.
func Start(t testing.TB, ca *certstest.CA, hosts ...string) *Server {
	t.Helper()
	s := &Server{policies: map[string]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Port = ln.Addr().(*net.TCPAddr).Port
	cert := ca.Leaf(time.Time{}, hosts...)
	srv := &http.Server{Handler: s, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return s
}

// Set makes host serve text ("" removes it).
func (s *Server) Set(host, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if text == "" {
		delete(s.policies, host)
		return
	}
	s.policies[host] = text
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, _ := strings.Cut(r.Host, ":")
	s.mu.Lock()
	text, ok := s.policies[host]
	ct := s.ContentType
	s.mu.Unlock()
	if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
		http.NotFound(w, r)
		return
	}
	if ct == "" {
		ct = "text/plain; charset=utf-8"
	}
	s.Hits.Add(1)
	w.Header().Set("Content-Type", ct)
	w.Write([]byte(text))
}
