package imap

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/sluicemail/sluice/server/store"
)

// quickAckOn reports whether the kernel would ACK c's incoming data at
// once: getsockopt(TCP_QUICKACK) is 1 unless the socket is in the
// delayed-ACK ("ping-pong") mode of an interactive connection.
func quickAckOn(t *testing.T, c *net.TCPConn) bool {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var serr error
	raw.Control(func(fd uintptr) { v, serr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK) })
	if serr != nil {
		t.Fatal(serr)
	}
	return v == 1
}

// delayAcks puts c in delayed-ACK mode, as a server's answers to a
// client's commands do.
func delayAcks(t *testing.T, c *net.TCPConn) {
	t.Helper()
	raw, _ := c.SyscallConn()
	var serr error
	raw.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 0) })
	if serr != nil {
		t.Fatal(serr)
	}
}

// TestQuickAckAfterRead: each read through the wrapper turns delayed
// ACKs off again, so that a client holding back the end of a literal
// behind Nagle's algorithm gets its ACK at once.
func TestQuickAckAfterRead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	tc := sc.(*net.TCPConn)
	wrapped := quickAck(sc)
	if _, ok := wrapped.(*quickAckConn); !ok {
		t.Fatalf("quickAck(%T) = %T, want *quickAckConn", sc, wrapped)
	}
	buf := make([]byte, 64)

	// The probe sees the mode: off once set so.
	delayAcks(t, tc)
	if quickAckOn(t, tc) {
		t.Fatal("TCP_QUICKACK still reads 1 after setting 0: the probe cannot tell")
	}
	// A plain read leaves delayed ACKs on (unless the kernel's own
	// delayed-ACK timer fired first on a loaded machine: a few tries).
	plainStaysDelayed := false
	for i := 0; i < 3 && !plainStaysDelayed; i++ {
		delayAcks(t, tc)
		client.Write([]byte("a1 APPEND INBOX {5000}\r\n"))
		if _, err := tc.Read(buf); err != nil {
			t.Fatal(err)
		}
		plainStaysDelayed = !quickAckOn(t, tc)
	}
	if !plainStaysDelayed {
		t.Fatal("a plain read turned quick ACKs on: the test cannot tell the wrapper's effect")
	}
	// A read through the wrapper turns them on, every time.
	for i := 0; i < 3; i++ {
		delayAcks(t, tc)
		client.Write([]byte("part of a literal"))
		if _, err := wrapped.Read(buf); err != nil {
			t.Fatal(err)
		}
		if !quickAckOn(t, tc) {
			t.Fatalf("read %d through the wrapper left delayed ACKs on", i)
		}
	}
}

// TestAppendNagleClient: a client with Nagle's algorithm on (a C
// client's default socket) APPENDs 5 KB messages over implicit TLS; all
// are stored, and the server's side of the connection is the
// quick-ACK wrapper (the bench shows the time it saves: bench/imap).
func TestAppendNagleClient(t *testing.T) {
	ts := newTestServer(t, Options{}, store.Options{})
	conn, err := net.Dial("tcp", ts.tls)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.(*net.TCPConn).SetNoDelay(false); err != nil {
		t.Fatal(err)
	}
	c := imapclient.New(tls.Client(conn, ts.clientTLS), nil)
	defer c.Close()
	if err := c.Login("alice@example.org", testUsers["alice@example.org"]).Wait(); err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := 0; i < n; i++ {
		msg := []byte(fmt.Sprintf("From: a@example.org\r\nSubject: nagle %d\r\n\r\n%s\r\n", i, bytes.Repeat([]byte("x"), 5000)))
		cmd := c.Append("INBOX", int64(len(msg)), nil)
		if _, err := cmd.Write(msg); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("APPEND %d: %v", i, err)
		}
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != n {
		t.Fatalf("INBOX has %d messages after %d APPENDs", sel.NumMessages, n)
	}
	ts.srv.track.mu.Lock()
	defer ts.srv.track.mu.Unlock()
	if len(ts.srv.track.conns) == 0 {
		t.Fatal("no tracked connection")
	}
	for tc := range ts.srv.track.conns {
		if _, ok := tc.Conn.(*quickAckConn); !ok {
			t.Errorf("server connection is %T, not the quick-ACK wrapper", tc.Conn)
		}
	}
}
