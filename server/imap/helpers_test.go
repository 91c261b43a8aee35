package imap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/store"
)

// testServer is a real IMAP server on loopback: a plain (STARTTLS)
// listener and an implicit-TLS one, over a store in a temporary data
// directory, with real bcrypt accounts.
type testServer struct {
	data      string
	store     *store.Store
	srv       *Server
	plain     string // host:port
	tls       string
	caFile    string // PEM of the self-signed certificate
	clientTLS *tls.Config
}

var testUsers = map[string]string{
	"alice@example.org": "alice-secret",
	"bob@example.org":   "bob-secret",
}

func newTestServer(t testing.TB, opts Options, so store.Options) *testServer {
	t.Helper()
	auth.HashCost = bcrypt.MinCost
	data := t.TempDir()
	accts, err := auth.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	for u, p := range testUsers {
		if err := accts.AddUser(u, p); err != nil {
			t.Fatal(err)
		}
	}
	return startServer(t, data, accts, opts, so)
}

// newTestServerAt starts a server again on an existing data directory.
func newTestServerAt(t testing.TB, data string) *testServer {
	t.Helper()
	accts, err := auth.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, data, accts, Options{}, store.Options{})
}

func startServer(t testing.TB, data string, accts *auth.Accounts, opts Options, so store.Options) *testServer {
	t.Helper()
	if opts.Store == nil {
		so.Hostname = "test"
		if so.Logger == nil {
			so.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
		if so.Rescan == 0 {
			so.Rescan = 200 * time.Millisecond
		}
		st, err := store.Open(data, so)
		if err != nil {
			t.Fatal(err)
		}
		opts.Store = st
	}
	t.Cleanup(func() { opts.Store.Close() })
	cert, caPEM := selfSigned(t)
	caFile := filepath.Join(data, "ca.pem")
	os.WriteFile(caFile, caPEM, 0o600)
	opts.Auth = accts
	opts.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(plain)
	go srv.ServeTLS(tlsLn)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &testServer{data: data, store: opts.Store, srv: srv, plain: plain.Addr().String(), tls: tlsLn.Addr().String(),
		caFile: caFile, clientTLS: &tls.Config{RootCAs: pool, ServerName: "localhost"}}
}

func selfSigned(t testing.TB) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM
}

// needTool finds an external client, failing in CI and skipping
// elsewhere when it is missing.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}
