// Package relaytest runs a real SMTP server (github.com/emersion/go-smtp)
// on a loopback port for tests of outbound delivery: it records what it
// receives, byte for byte, and can be told to answer RCPT or DATA with an
// error, or to require AUTH PLAIN.
package relaytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	From string
	To   []string
	Data []byte // exactly as received, dot-unstuffed, line ends untouched
	TLS  bool   // the session was encrypted
	User string // the AUTH user, if any
	// UTF8 and RequireTLS are the SMTPUTF8 and REQUIRETLS parameters of
	// MAIL FROM.
	UTF8, RequireTLS bool
}

// Server is a recording SMTP server.
type Server struct {
	Addr string // 127.0.0.1:port
	Port int

	// Rcpt, when set, decides the reply to RCPT TO (nil accepts).
	Rcpt func(to string) error
	// Data, when set, decides the reply after the data (nil accepts).
	Data func(m *Message) error
	// Auth, when set, makes AUTH PLAIN required and checks the password.
	Auth func(user, pass string) error

	mu   sync.Mutex
	msgs []*Message
	srv  *smtp.Server
	cert tls.Certificate
}

// Options choose how the server starts.
type Options struct {
	TLS      bool // offer STARTTLS (self-signed certificate)
	Implicit bool // TLS from the first byte instead
	// Names are more DNS names for the certificate (it always has mx.test,
	// localhost and 127.0.0.1), so that a client trusting CertPool can
	// verify it for the MX name it looked up.
	Names      []string
	SMTPUTF8   bool // advertise SMTPUTF8 (RFC 6531)
	RequireTLS bool // advertise REQUIRETLS after STARTTLS (RFC 8689)
	// Cert replaces the self-signed certificate (a test CA's, for the
	// tests that validate it).
	Cert *tls.Certificate
}

// Start starts a server on 127.0.0.1:0 and stops it when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, tlsOn := c.TLSConnectionState()
		return &session{s: s, msg: &Message{TLS: tlsOn}}, nil
	}))
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.EnableSMTPUTF8, srv.EnableREQUIRETLS = o.SMTPUTF8, o.RequireTLS
	if o.TLS || o.Implicit {
		if o.Cert != nil {
			s.cert = *o.Cert
		} else {
			s.cert = certFor(t, o.Names)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{s.cert}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.Implicit {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	s.srv, s.Addr, s.Port = srv, ln.Addr().String(), ln.Addr().(*net.TCPAddr).Port
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Messages returns what was accepted so far.
func (s *Server) Messages() []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Message(nil), s.msgs...)
}

type session struct {
	s    *Server
	msg  *Message
	auth bool
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if ss.s.Auth == nil {
			return errors.New("no auth configured")
		}
		if err := ss.s.Auth(user, pass); err != nil {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		ss.auth, ss.msg.User = true, user
		return nil
	}), nil
}

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	if ss.s.Auth != nil && !ss.auth {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	ss.msg.From = from
	ss.msg.UTF8, ss.msg.RequireTLS = opts.UTF8, opts.RequireTLS
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if f := ss.s.Rcpt; f != nil {
		if err := f(to); err != nil {
			return err
		}
	}
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := *ss.msg
	m.To = append([]string(nil), ss.msg.To...)
	m.Data = b
	if f := ss.s.Data; f != nil {
		if err := f(&m); err != nil {
			return err
		}
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, &m)
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset()        { ss.msg = &Message{TLS: ss.msg.TLS, User: ss.msg.User} }
func (ss *session) Logout() error { return nil }

// CertPool trusts the server's certificate (nil without TLS).
func (s *Server) CertPool() *x509.CertPool {
	if s.cert.Leaf == nil {
		return nil
	}
	p := x509.NewCertPool()
	p.AddCert(s.cert.Leaf)
	return p
}

// Cert returns a fresh self-signed certificate for mx.test and 127.0.0.1.
func Cert(t testing.TB) tls.Certificate {
	t.Helper()
	return certFor(t, nil)
}

func certFor(t testing.TB, names []string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.test"},
		DNSNames:     append([]string{"mx.test", "localhost"}, names...),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}
