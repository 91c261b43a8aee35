package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lineConn is a raw client: a connection and a line reader on it.
type lineConn struct {
	c net.Conn
	r *bufio.Reader
}

func dialLines(t *testing.T, addr string, tlsOn bool) *lineConn {
	t.Helper()
	var c net.Conn
	var err error
	if tlsOn {
		c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	t.Cleanup(func() { c.Close() })
	return &lineConn{c: c, r: bufio.NewReader(c)}
}

// upgrade starts TLS on the connection (after a STARTTLS the server took).
func (l *lineConn) upgrade(t *testing.T) {
	t.Helper()
	tc := tls.Client(l.c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tc.SetDeadline(time.Now().Add(60 * time.Second))
	l.c, l.r = tc, bufio.NewReader(tc)
}

// until reads lines until one starts with prefix and returns it.
func (l *lineConn) until(prefix string) (string, error) {
	for {
		line, err := l.r.ReadString('\n')
		if err != nil {
			return line, err
		}
		if strings.HasPrefix(line, prefix) {
			return line, nil
		}
	}
}

// must sends cmd (if any) and reads until a line starting with want.
func (l *lineConn) must(t *testing.T, cmd, want string) {
	t.Helper()
	if cmd != "" {
		fmt.Fprintf(l.c, "%s\r\n", cmd)
	}
	if line, err := l.until(want); err != nil {
		t.Fatalf("%q: waiting for %q: %q %v", cmd, want, line, err)
	}
}

// TestGracefulShutdown starts the real binary under a systemd-like
// notify socket, opens 50 idle SMTP and 50 idle IMAP sessions (plus
// STARTTLS, implicit-TLS and IDLE ones, and one SMTP transaction in
// flight), sends SIGTERM and checks that every idle client hears 421 /
// BYE at once, the transaction still completes, and the process exits
// long before its 30 s bound. The time taken is logged, not asserted
// tightly (the figure is for the report).
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "test.zone"), []byte("$ORIGIN .\n$TTL 300\n"), 0o644)
	conf := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(conf, []byte(`hostname: mx.example.net
domains: [example.net]
data: data
listen: {smtp: "127.0.0.1:0", submission: "127.0.0.1:0", submissions: "127.0.0.1:0", imap: "127.0.0.1:0", imaps: "127.0.0.1:0"}
dns: {zonefile: test.zone}
limits: {connections_per_ip: 200, timeouts: {shutdown: 30s}}
`), 0o644)
	if out, errOut, code := runIn(t, "password1\n", "user", "add", "--config", conf, "--password-stdin", "alice@example.net"); code != 0 {
		t.Fatalf("user add: %s %s", out, errOut)
	}
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "notify"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()

	cmd, stdout, stderr := startServeProcess(t, conf, "NOTIFY_SOCKET="+filepath.Join(dir, "notify"))
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("server stderr:\n%s", stderr.String())
		}
	}()
	banner := readBanner(t, stdout)
	if early := stderr.String(); strings.Contains(early, "INFO") {
		t.Errorf("INFO lines before the banner:\n%s", early)
	}
	if got := readNotify(t, sock); got != "READY=1" {
		t.Errorf("notify socket got %q, want READY=1", got)
	}
	addr := func(kind string) string {
		m := regexp.MustCompile(`(?m)^\s+` + kind + `\s+(127\.0\.0\.1:\d+)`).FindStringSubmatch(banner)
		if m == nil {
			t.Fatalf("no %s in banner:\n%s", kind, banner)
		}
		return m[1]
	}

	var smtpIdle, imapIdle []*lineConn
	for range 50 {
		c := dialLines(t, addr("smtp"), false)
		c.must(t, "", "220 ")
		c.must(t, "EHLO client.example.org", "250 ")
		smtpIdle = append(smtpIdle, c)
		i := dialLines(t, addr("imap"), false)
		i.must(t, "", "* OK")
		i.must(t, "a1 CAPABILITY", "a1 OK")
		imapIdle = append(imapIdle, i)
	}
	starttls := dialLines(t, addr("submission"), false)
	starttls.must(t, "", "220 ")
	starttls.must(t, "EHLO client.example.org", "250 ")
	starttls.must(t, "STARTTLS", "220 ")
	starttls.upgrade(t)
	starttls.must(t, "EHLO client.example.org", "250 ")
	implicit := dialLines(t, addr("submissions"), true)
	implicit.must(t, "", "220 ")
	implicit.must(t, "EHLO client.example.org", "250 ")
	smtpIdle = append(smtpIdle, starttls, implicit)
	idle := dialLines(t, addr("imaps"), true)
	idle.must(t, "", "* OK")
	idle.must(t, "a1 LOGIN alice@example.net password1", "a1 OK")
	idle.must(t, "a2 SELECT INBOX", "a2 OK")
	idle.must(t, "a3 IDLE", "+ ")
	imapIdle = append(imapIdle, idle)
	// A transaction in flight: it may finish after the SIGTERM.
	tx := dialLines(t, addr("smtp"), false)
	tx.must(t, "", "220 ")
	tx.must(t, "EHLO client.example.org", "250 ")
	tx.must(t, "MAIL FROM:<friend@example.org>", "250 ")
	tx.must(t, "RCPT TO:<alice@example.net>", "250 ")

	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	var wg sync.WaitGroup
	check := func(c *lineConn, want string) {
		defer wg.Done()
		if line, err := c.until(want); err != nil {
			t.Errorf("waiting for %q: got %q, %v", want, line, err)
		}
	}
	for _, c := range smtpIdle {
		wg.Add(1)
		go check(c, "421 4.3.2 ")
	}
	for _, c := range imapIdle {
		wg.Add(1)
		go check(c, "* BYE ")
	}
	wg.Wait()
	told := time.Since(start)
	tx.must(t, "DATA", "354 ")
	tx.must(t, "Subject: finished during shutdown\r\n\r\nbody\r\n.", "250 ")
	tx.must(t, "", "421 4.3.2 ")
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server still running 10 s after SIGTERM (its bound is 30 s)")
	}
	t.Logf("SIGTERM with %d idle SMTP and %d idle IMAP sessions: all told in %v, process exited after %v",
		len(smtpIdle), len(imapIdle), told.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if got := readNotify(t, sock); got != "STOPPING=1" {
		t.Errorf("notify socket got %q, want STOPPING=1", got)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "data", "mail", "example.net", "alice", "*", "*"))
	files = slices.DeleteFunc(files, func(f string) bool { d := filepath.Base(filepath.Dir(f)); return d != "new" && d != "cur" })
	if len(files) != 1 {
		t.Errorf("%d messages in alice's INBOX, want the one finished during shutdown", len(files))
	}
}

func readNotify(t *testing.T, sock *net.UnixConn) string {
	t.Helper()
	sock.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 512)
	n, err := sock.Read(buf)
	if err != nil {
		t.Fatalf("notify socket: %v", err)
	}
	return string(buf[:n])
}
