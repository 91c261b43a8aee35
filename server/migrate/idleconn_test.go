package migrate

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// TestIMAPSourceStalls: a source that greets, then never answers (its
// TCP connection open, as a hung server or a dropped NAT mapping leaves
// it) fails the login after the idle timeout with a clear error, instead
// of holding the import for ever.
func TestIMAPSourceStalls(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Write([]byte("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] stalls after this\r\n"))
				r := bufio.NewReader(c)
				for {
					if _, err := r.ReadString('\n'); err != nil {
						return // read what the client sends, answer nothing
					}
				}
			}()
		}
	}()
	src := IMAPSource{URL: "imap://bob@" + l.Addr().String(), Password: "pw", Insecure: true, Timeout: 300 * time.Millisecond}
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		c, _, err := src.Dial()
		if c != nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "logging in to") || !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("a stalled login gave %v, want a login error naming the timeout", err)
		}
		t.Logf("gave up after %v: %v", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(20 * time.Second):
		t.Fatal("the import still waits 20 s on a source that stopped answering")
	}
}
