package certs_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sluicemail/sluice/server/certs"
	"github.com/sluicemail/sluice/server/certs/certstest"
)

// echo serves TLS with cfg on loopback, echoing lines, so a test can see
// which certificate a handshake got and that an open session goes on.
func echo(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte(line))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(t *testing.T, addr string, ca *certstest.CA) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "mx.example.test", RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func roundTrip(t *testing.T, c *tls.Conn) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatal("session dropped:", err)
	}
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("session dropped: %q %v", line, err)
	}
}

func serial(c *tls.Conn) string { return c.ConnectionState().PeerCertificates[0].SerialNumber.String() }

// Certificate files renewed by another tool are served to the next
// connection; the open one goes on.
func TestFilesHotSwap(t *testing.T) {
	ca := certstest.NewCA(t)
	dir := t.TempDir()
	cp, kp := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write := func() {
		c, k := ca.LeafPEM(time.Time{}, "mx.example.test")
		os.WriteFile(kp, k, 0o600)
		os.WriteFile(cp, c, 0o644)
	}
	write()
	m, err := certs.New(certs.Options{Hostname: "mx.example.test", CertFile: cp, KeyFile: kp, CheckEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	addr := echo(t, m.TLSConfig())
	first := dial(t, addr, ca)
	roundTrip(t, first)
	// A new modification time even on a coarse file system clock.
	time.Sleep(20 * time.Millisecond)
	write()
	future := time.Now().Add(time.Second)
	os.Chtimes(cp, future, future)
	deadline := time.Now().Add(5 * time.Second)
	for {
		time.Sleep(20 * time.Millisecond)
		if second := dial(t, addr, ca); serial(second) != serial(first) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was never served")
		}
	}
	roundTrip(t, first)
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A certificate within 14 days of expiry is a warning in the log, with
// the fix, and a metric.
func TestExpiryWarning(t *testing.T) {
	ca := certstest.NewCA(t)
	dir := t.TempDir()
	cp, kp := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	c, k := ca.LeafPEM(time.Now().Add(3*24*time.Hour), "mx.example.test")
	os.WriteFile(kp, k, 0o600)
	os.WriteFile(cp, c, 0o644)
	var logs logBuf
	m, err := certs.New(certs.Options{Hostname: "mx.example.test", CertFile: cp, KeyFile: kp, CheckEvery: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), "TLS certificate expires soon"); {
		if time.Now().After(deadline) {
			t.Fatalf("no warning; log:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "certbot renew") {
		t.Errorf("the warning gives no fix:\n%s", logs.String())
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	left := -1.0
	if mfs, err := reg.Gather(); err == nil {
		for _, mf := range mfs {
			if mf.GetName() == "sluice_certificate_expiry_seconds" {
				left = mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
	}
	if left <= 0 || left > certs.ExpiryWarning.Seconds() {
		t.Errorf("sluice_certificate_expiry_seconds = %v, want within (0, %v]", left, certs.ExpiryWarning.Seconds())
	}
	if problems, err := testutil.CollectAndLint(m); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}
	if err := m.Check(); err == nil || !strings.Contains(err.Error(), "certbot renew") {
		t.Errorf("readiness check: %v", err)
	}
}

// Without files or ACME the certificate is self-signed, made once, and
// served to clients that send no server name.
func TestSelfSigned(t *testing.T) {
	dir := t.TempDir()
	m, err := certs.New(certs.Options{Hostname: "mx.example.test", SelfSignedDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !m.SelfSigned() || m.Leaf() == nil || m.Leaf().DNSNames[0] != "mx.example.test" {
		t.Fatalf("self-signed %v, leaf %v", m.SelfSigned(), m.Leaf())
	}
	addr := echo(t, m.TLSConfig())
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	before, _ := os.ReadFile(filepath.Join(dir, "cert.pem"))
	m2, err := certs.New(certs.Options{Hostname: "mx.example.test", SelfSignedDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	m2.Close()
	if after, _ := os.ReadFile(filepath.Join(dir, "cert.pem")); !bytes.Equal(before, after) {
		t.Error("the self-signed certificate was made again")
	}
}
