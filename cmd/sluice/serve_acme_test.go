package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/certs"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/mtasts"
	"github.com/sluicemail/sluice/server/smtp"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

// Pebble (Let's Encrypt's test ACME server, a tool dependency in go.mod)
// is built once per test binary.
var (
	pebbleOnce sync.Once
	pebbleBin  string
	pebbleErr  error
)

func buildPebble(t *testing.T) string {
	t.Helper()
	pebbleOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pebble")
		if err != nil {
			pebbleErr = err
			return
		}
		pebbleBin = filepath.Join(dir, "pebble")
		out, err := exec.Command("go", "build", "-o", pebbleBin, "github.com/letsencrypt/pebble/v2/cmd/pebble").CombinedOutput()
		if err != nil {
			pebbleErr = fmt.Errorf("building pebble: %v\n%s", err, out)
		}
	})
	if pebbleErr != nil {
		t.Fatal(pebbleErr)
	}
	return pebbleBin
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// pebble is a running Pebble on loopback.
type pebble struct {
	dir       string // directory URL
	mgmt      string // management interface, https://127.0.0.1:port
	serverPEM string // file: the certificate of Pebble's own HTTPS (tls.acme.ca_root)
	client    *http.Client
}

// startPebble runs Pebble with real challenges: its validation authority
// resolves names through dnsAddr and connects to httpPort (HTTP-01) and
// tlsPort (TLS-ALPN-01) on the address found. Certificates live for
// validity.
func startPebble(t *testing.T, dnsAddr string, httpPort, tlsPort int, validity time.Duration) *pebble {
	t.Helper()
	bin := buildPebble(t)
	dir := t.TempDir()
	certPEM, keyPEM, err := config.SelfSigned("localhost")
	if err != nil {
		t.Fatal(err)
	}
	p := &pebble{serverPEM: filepath.Join(dir, "pebble.pem")}
	os.WriteFile(p.serverPEM, certPEM, 0o644)
	os.WriteFile(filepath.Join(dir, "pebble.key"), keyPEM, 0o600)
	listen, mgmt := freePort(t), freePort(t)
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress": fmt.Sprintf("127.0.0.1:%d", listen), "managementListenAddress": fmt.Sprintf("127.0.0.1:%d", mgmt),
		"certificate": filepath.Join(dir, "pebble.pem"), "privateKey": filepath.Join(dir, "pebble.key"),
		"httpPort": httpPort, "tlsPort": tlsPort, "keyAlgorithm": "ecdsa",
		"profiles": map[string]any{"default": map[string]any{"description": "short-lived", "validityPeriod": int(validity.Seconds())}},
	}}
	b, _ := json.Marshal(conf)
	os.WriteFile(filepath.Join(dir, "pebble.json"), b, 0o644)
	cmd := exec.Command(bin, "-config", filepath.Join(dir, "pebble.json"), "-dnsserver", dnsAddr)
	// No random sleep before validation, no random nonce rejections.
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("pebble log:\n%s", logs.String())
		}
	})
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	p.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	p.dir = fmt.Sprintf("https://127.0.0.1:%d/dir", listen)
	p.mgmt = fmt.Sprintf("https://127.0.0.1:%d", mgmt)
	waitFor(t, func() bool {
		resp, err := p.client.Get(p.dir)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}, "pebble to listen")
	return p
}

// root returns the root Pebble issues under, which is made at its start.
func (p *pebble) root(t *testing.T) *x509.CertPool {
	t.Helper()
	resp, err := p.client.Get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("no root from pebble: %s", b)
	}
	return pool
}

// The whole ACME path against a real ACME server: the certificates are
// issued through real HTTP-01/TLS-ALPN-01 challenges on our own web
// listeners, served over SMTP STARTTLS, IMAPS and HTTPS (the MTA-STS
// policy) verified against Pebble's root, renewed when their short life
// runs low, and swapped in without dropping the sessions already open.
func TestServeACMEWithPebble(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs Pebble")
	}
	const zone = "mx.example.test. A 127.0.0.1\nmta-sts.example.test. A 127.0.0.1\nautoconfig.example.test. A 127.0.0.1\n" +
		"_mta-sts.example.test. TXT \"v=STSv1; id=1\"\n"
	z, err := resolver.ParseZone(zone)
	if err != nil {
		t.Fatal(err)
	}
	httpPort, httpsPort := freePort(t), freePort(t)
	peb := startPebble(t, dnstest.Start(t, z), httpPort, httpsPort, 40*time.Second)

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "test.zone"), []byte(zone), 0o644)
	os.WriteFile(filepath.Join(dir, "sluice.yaml"), fmt.Appendf(nil, `hostname: mx.example.test
domains: [example.test]
data: data
listen: {smtp: "127.0.0.1:0", imaps: "127.0.0.1:0", http: "127.0.0.1:%d", https: "127.0.0.1:%d"}
tls: {acme: {email: postmaster@example.test, ca: %q, ca_root: %q}}
dns: {zonefile: test.zone}
mta_sts: {mode: enforce}
`, httpPort, httpsPort, peb.dir, peb.serverPEM), 0o644)
	cfg, err := config.Load(filepath.Join(dir, "sluice.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	acmeTuning = func(a *certs.ACME) { a.RenewCheck, a.RenewWindow = time.Second, 0.5 }
	defer func() { acmeTuning = nil }()
	logs := &lockedBuffer{}
	in, err := start(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		in.stop(5 * time.Second)
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	}()
	roots := peb.root(t)
	tlsConf := &tls.Config{ServerName: "mx.example.test", RootCAs: roots}
	imaps := boundAddr(t, in, "imaps")
	var first *tls.Conn
	waitFor(t, func() bool {
		c, err := tls.Dial("tcp", imaps, tlsConf)
		if err != nil {
			return false
		}
		first = c
		return true
	}, "an IMAPS certificate that verifies against Pebble's root")
	defer first.Close()
	imapLine(t, first, "")
	smtpc := smtpSTARTTLS(t, in.smtp.Addr(smtp.MX).String(), tlsConf)
	defer smtpc.Close()
	fetchOwnPolicy(t, z, roots, httpsPort)

	// Renewal: the next handshakes get a new certificate.
	firstSerial := first.ConnectionState().PeerCertificates[0].SerialNumber
	var renewed *x509.Certificate
	deadline := time.Now().Add(90 * time.Second)
	for renewed == nil && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		c, err := tls.Dial("tcp", imaps, tlsConf)
		if err != nil {
			t.Fatalf("handshake during renewal: %v", err)
		}
		if leaf := c.ConnectionState().PeerCertificates[0]; leaf.SerialNumber.Cmp(firstSerial) != 0 {
			renewed = leaf
		}
		c.Close()
	}
	if renewed == nil {
		t.Fatal("the certificate was not renewed")
	}
	// The sessions opened on the old certificate go on.
	imapLine(t, first, "a1 NOOP\r\n")
	if err := smtpc.Noop(); err != nil {
		t.Errorf("SMTP session dropped by the swap: %v", err)
	}
	if c2 := smtpSTARTTLS(t, in.smtp.Addr(smtp.MX).String(), tlsConf); c2 != nil {
		c2.Close()
	}
	if !strings.Contains(logs.String(), "certificate obtained") || !strings.Contains(logs.String(), "renewal=true") {
		t.Error("no 'certificate obtained' with renewal=true in the log")
	}
	if testing.Verbose() {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "certificate obtained") || strings.Contains(l, "challenge") {
				t.Log(l)
			}
		}
	}
}

func boundAddr(t *testing.T, in *instance, kind string) string {
	t.Helper()
	for _, a := range in.addrs {
		if f := strings.Fields(a); len(f) >= 2 && f[0] == kind {
			return f[1]
		}
	}
	t.Fatalf("no %s listener in %v", kind, in.addrs)
	return ""
}

// imapLine sends cmd (if any) and reads one line, which must be OK.
func imapLine(t *testing.T, c *tls.Conn, cmd string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if cmd != "" {
		if _, err := io.WriteString(c, cmd); err != nil {
			t.Fatalf("IMAP session dropped: %v", err)
		}
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(line, "OK") {
		t.Fatalf("IMAP: %q %v", line, err)
	}
}

func smtpSTARTTLS(t *testing.T, addr string, conf *tls.Config) *gosmtp.Client {
	t.Helper()
	c, err := gosmtp.DialStartTLS(addr, conf)
	if err != nil {
		t.Fatalf("SMTP STARTTLS with the issued certificate: %v", err)
	}
	if err := c.Hello("client.example.test"); err != nil {
		t.Fatal(err)
	}
	return c
}

// fetchOwnPolicy fetches our own MTA-STS policy as a sender would: over
// HTTPS from mta-sts.<domain>, the certificate (issued by Pebble for that
// name) validated.
func fetchOwnPolicy(t *testing.T, z *resolver.Zone, roots *x509.CertPool, port int) {
	t.Helper()
	f := mtasts.NewFetcher(mtasts.Options{Resolver: z, Roots: roots, Port: port})
	var p *mtasts.Policy
	waitFor(t, func() bool {
		var err error
		p, err = f.Policy(context.Background(), "example.test")
		return err == nil && p != nil
	}, "our MTA-STS policy over HTTPS with the mta-sts. certificate")
	if p.Mode != mtasts.Enforce || !p.MatchMX("mx.example.test") {
		t.Errorf("served policy %+v", p)
	}
}
