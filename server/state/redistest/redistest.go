// Package redistest starts a real redis-server (Debian's redis-server
// package) on a loopback port for tests: the integration tests of the
// shared state run against the program production runs, not a stand-in.
package redistest

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is one redis-server process with no persistence, owned by a test.
type Server struct {
	Addr string
	// CAFile and ServerName verify a TLS server's certificate (StartTLS);
	// empty for a plain one.
	CAFile, ServerName string

	t    testing.TB
	bin  string
	dir  string
	tls  *tlsFiles
	pass string // requirepass; "" for none

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Start runs redis-server on a free loopback port and stops it when the
// test ends. Without the program it fails in CI (which installs it) and
// skips elsewhere.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false)
}

// StartTLS is Start with TLS only (its tls-port; no plain port), under a
// certificate for ServerName signed by a throw-away CA in CAFile.
func StartTLS(t testing.TB) *Server {
	t.Helper()
	return start(t, true)
}

// StartPassword is Start with a password required (requirepass).
func StartPassword(t testing.TB, password string) *Server {
	t.Helper()
	return startWith(t, false, password)
}

func start(t testing.TB, withTLS bool) *Server {
	t.Helper()
	return startWith(t, withTLS, "")
}

func startWith(t testing.TB, withTLS bool, password string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis-server is required in CI: %v", err)
		}
		t.Skipf("redis-server not installed: %v", err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), Addr: "127.0.0.1:" + strconv.Itoa(freePort(t)), pass: password}
	if withTLS {
		s.tls = writeTLSFiles(t, s.dir)
		s.CAFile, s.ServerName = s.tls.ca, tlsServerName
	}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) start() {
	s.t.Helper()
	_, port, _ := net.SplitHostPort(s.Addr)
	args := []string{"--port", port}
	if s.tls != nil {
		args = []string{"--port", "0", "--tls-port", port, "--tls-cert-file", s.tls.cert,
			"--tls-key-file", s.tls.key, "--tls-ca-cert-file", s.tls.ca, "--tls-auth-clients", "no"}
	}
	if s.pass != "" {
		args = append(args, "--requirepass", s.pass)
	}
	args = append(args, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--daemonize", "no", "--loglevel", "warning")
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redis-server: %v", err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := s.ping(); err == nil {
			return
		} else if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s did not answer: %v", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping speaks just enough RESP to know the server is up.
func (s *Server) ping() error {
	var c net.Conn
	var err error
	if s.tls != nil {
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: time.Second}, Config: s.tls.client}
		c, err = d.Dial("tcp", s.Addr)
	} else {
		c, err = net.DialTimeout("tcp", s.Addr, time.Second)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	ping := "PING\r\n"
	if s.pass != "" {
		ping = "AUTH " + s.pass + "\r\nPING\r\n"
	}
	if _, err := c.Write([]byte(ping)); err != nil {
		return err
	}
	want := "+PONG\r\n"
	if s.pass != "" {
		want = "+OK\r\n" + want
	}
	buf := make([]byte, len(want))
	n, err := io.ReadFull(c, buf)
	if err != nil {
		return err
	}
	if string(buf[:n]) != want {
		return fmt.Errorf("unexpected reply %q", buf[:n])
	}
	return nil
}

// Stop kills the server (SIGKILL: a crash, as a test of Redis going away
// wants) and waits for it.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	cmd.Wait()
}

// Restart starts it again on the same address (empty: nothing was saved).
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// Pause stops the server without closing its socket (SIGSTOP): a Redis
// that hangs, whose connections neither answer nor fail, which only the
// clients' timeouts end.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume lets a paused server run again (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.cmd.Process.Signal(sig)
	}
}
