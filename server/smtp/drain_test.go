package smtp

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestShutdownDrains: a client before EHLO, one after it and one after
// STARTTLS hear 421 4.3.2 at once; a transaction in flight runs to its
// 250 and is told next; Shutdown returns without waiting for its bound.
func TestShutdownDrains(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	greeted := dialConv(t, h.mx)
	ehlo := dialConv(t, h.mx)
	ehlo.expect250("EHLO client.example.org")
	tlsc := dialConv(t, h.sub)
	tlsc.cmd("EHLO client.example.org")
	tlsc.startTLS()
	tlsc.expect250("EHLO client.example.org")
	tx := dialConv(t, h.mx)
	tx.expect250("EHLO client.example.org")
	tx.expect250("MAIL FROM:<a@example.org>")
	tx.expect250("RCPT TO:<alice@example.net>")

	start := time.Now()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		done <- h.srv.Shutdown(ctx)
	}()
	for _, c := range []*conv{greeted, ehlo, tlsc} {
		if r := c.reply(); !strings.HasPrefix(r, "421 4.3.2 ") {
			t.Errorf("idle client got %q, want 421 4.3.2", r)
		}
	}
	tx.expect354("DATA")
	tx.send("Subject: in flight\r\n\r\nx\r\n.\r\n")
	tx.expect("250")
	tx.expect("421 4.3.2 ")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	h.mailbox("alice@example.net", "INBOX", 1)
	if _, err := dialConvErr(h.mx); err == nil {
		t.Error("the listener still accepts")
	}
}

// dialConvErr connects and reads the greeting, reporting failure instead
// of failing the test.
func dialConvErr(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 64)
	n, err := c.Read(b)
	return string(b[:n]), err
}
