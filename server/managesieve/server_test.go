package managesieve

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/sieve"
	"github.com/sluicemail/sluice/server/sieve/scripts"
	"golang.org/x/crypto/bcrypt"
)

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// startServer runs a server with one account, bob@example.com.
func startServer(t *testing.T) (string, *scripts.Store) {
	t.Helper()
	dir := t.TempDir()
	auth.HashCost = bcrypt.MinCost
	acc, err := auth.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.AddUser("bob@example.com", "secret-pw"); err != nil {
		t.Fatal(err)
	}
	st := scripts.New(func(u string) (string, error) { return filepath.Join(dir, u), nil }, sieve.Limits{})
	srv := New(Options{Scripts: st, Auth: acc, TLSConfig: selfSigned(t)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), st
}

// client speaks the raw protocol.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, conn: c, r: bufio.NewReader(c)}
}

// response reads lines up to the OK/NO/BYE that ends a response.
func (c *client) response() (lines []string, status string) {
	c.t.Helper()
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (after %q)", err, lines)
		}
		l = strings.TrimRight(l, "\r\n")
		if strings.HasPrefix(l, "OK") || strings.HasPrefix(l, "NO") || strings.HasPrefix(l, "BYE") {
			return lines, l
		}
		lines = append(lines, l)
	}
}

func (c *client) cmd(line string) ([]string, string) {
	c.t.Helper()
	fmt.Fprintf(c.conn, "%s\r\n", line)
	return c.response()
}

func (c *client) expect(line, status string) []string {
	c.t.Helper()
	lines, got := c.cmd(line)
	if !strings.HasPrefix(got, status) {
		c.t.Fatalf("%s: got %q, want %s", line, got, status)
	}
	return lines
}

func (c *client) starttls() {
	c.t.Helper()
	c.expect("STARTTLS", "OK")
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	caps, _ := c.response()
	if !contains(caps, `"SASL" "PLAIN"`) || contains(caps, `"STARTTLS"`) {
		c.t.Fatalf("capabilities after STARTTLS: %q", caps)
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func plain(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

func TestRawProtocol(t *testing.T) {
	addr, st := startServer(t)
	c := dial(t, addr)
	caps, status := c.response()
	if status != `OK "sluice ManageSieve ready"` || !contains(caps, `"STARTTLS"`) || !contains(caps, `"SIEVE" "`+sieve.Capabilities()+`"`) {
		t.Fatalf("greeting: %q %q", caps, status)
	}
	c.expect(`AUTHENTICATE "PLAIN" "`+plain("bob@example.com", "secret-pw")+`"`, "NO (ENCRYPT-NEEDED)")
	c.expect("LISTSCRIPTS", "NO")
	c.starttls()
	c.expect(`AUTHENTICATE "PLAIN" "`+plain("bob@example.com", "wrong")+`"`, "NO")
	// The response after an empty challenge, as some clients send it.
	fmt.Fprintf(c.conn, "AUTHENTICATE \"PLAIN\"\r\n")
	if l, _ := c.r.ReadString('\n'); l != "\"\"\r\n" {
		t.Fatalf("challenge: %q", l)
	}
	if _, s := c.cmd(`"` + plain("bob@example.com", "secret-pw") + `"`); s != `OK "authenticated"` {
		t.Fatalf("auth: %q", s)
	}
	script := "require \"fileinto\";\r\nif header :contains \"subject\" \"x\" { fileinto \"X\"; }\r\n"
	c.expect(fmt.Sprintf("PUTSCRIPT \"main\" {%d+}\r\n%s", len(script), script), "OK")
	_, s := c.cmd("PUTSCRIPT \"broken\" {12+}\r\nfileinto \"x\"")
	if !strings.HasPrefix(s, "NO") || !strings.Contains(s, "line 1:1") {
		t.Errorf("PUTSCRIPT of a broken script: %q", s)
	}
	c.expect(`CHECKSCRIPT "keep;"`, "OK")
	c.expect(`CHECKSCRIPT "keep"`, "NO")
	c.expect(`HAVESPACE "main" 1000`, "OK")
	c.expect(`HAVESPACE "main" 99999999`, "NO (QUOTA/MAXSIZE)")
	c.expect(`SETACTIVE "nosuch"`, "NO (NONEXISTENT)")
	c.expect(`SETACTIVE "main"`, "OK")
	if lines := c.expect("LISTSCRIPTS", "OK"); len(lines) != 1 || lines[0] != `"main" ACTIVE` {
		t.Errorf("LISTSCRIPTS: %q", lines)
	}
	lines := c.expect(`GETSCRIPT "main"`, "OK")
	if len(lines) < 1 || lines[0] != fmt.Sprintf("{%d}", len(script)) || !strings.Contains(strings.Join(lines, "\r\n"), "fileinto \"X\"") {
		t.Errorf("GETSCRIPT: %q", lines)
	}
	c.expect(`DELETESCRIPT "main"`, "NO (ACTIVE)")
	c.expect(`PUTSCRIPT "other" "keep;"`, "OK")
	c.expect(`RENAMESCRIPT "other" "main"`, "NO (ALREADYEXISTS)")
	c.expect(`RENAMESCRIPT "main" "vacation"`, "OK")
	if sc, name, _ := st.Active("bob@example.com"); sc == nil || name != "vacation" {
		t.Errorf("active after rename: %q", name)
	}
	c.expect(`SETACTIVE ""`, "OK")
	c.expect(`DELETESCRIPT "vacation"`, "OK")
	c.expect(`DELETESCRIPT "vacation"`, "NO (NONEXISTENT)")
	c.expect(`NOOP "t1"`, `OK (TAG "t1")`)
	c.expect("BOGUS", "NO")
	c.expect("LOGOUT", "OK")
}

// A literal over the limit ends the session rather than being read.
func TestLiteralLimit(t *testing.T) {
	addr, _ := startServer(t)
	c := dial(t, addr)
	c.response()
	fmt.Fprintf(c.conn, "CHECKSCRIPT {999999999+}\r\n")
	if _, s := c.response(); !strings.HasPrefix(s, "BYE") {
		t.Fatalf("got %q", s)
	}
}
