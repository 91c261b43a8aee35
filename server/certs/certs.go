// Package certs holds the TLS certificates of every listener (SMTP,
// submission, IMAP, the web and admin listeners): from files that an
// outside tool renews (reloaded when they change), self-signed in the data
// directory, or obtained and renewed from an ACME server (RFC 8555, with
// github.com/caddyserver/certmagic, HTTP-01 and TLS-ALPN-01 challenges of
// RFC 8737). Listeners take their certificate through the GetCertificate
// of the one tls.Config handed out here, at each handshake, so a renewed
// certificate serves the next connection while the open ones go on. A
// certificate that expires within 14 days is logged as a warning every
// check and shows in the metrics.
package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// ExpiryWarning is how long before expiry a certificate is warned about.
const ExpiryWarning = 14 * 24 * time.Hour

// Options configure a Manager.
type Options struct {
	Hostname string // the name served to clients that send no SNI, and whose expiry is watched
	// CertFile and KeyFile are a certificate renewed by another tool; they
	// are read again when they change.
	CertFile, KeyFile string
	// SelfSignedDir, used when neither files nor ACME are set, holds the
	// self-signed certificate (generated once). With ACME it is the
	// fallback served until the first certificate is issued.
	SelfSignedDir string
	ACME          *ACME
	// CheckEvery is how often the expiry is checked (and the files
	// stat'ed); default 1 hour for the expiry, 5 seconds for the files.
	CheckEvery time.Duration
	Logger     *slog.Logger
	Now        func() time.Time // default time.Now
}

// source is where certificates come from.
type source interface {
	getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error)
	// leaf returns the certificate currently served for name, or nil.
	leaf(name string) *x509.Certificate
	close()
}

// Manager serves the certificates. It is safe for concurrent use.
type Manager struct {
	opts     Options
	log      *slog.Logger
	src      source
	fallback *fileSource // the self-signed certificate while ACME has none
	self     bool
	acme     *acmeSource
	stop     context.CancelFunc
	done     chan struct{}

	mu       sync.Mutex
	notAfter time.Time
	warnings int
}

// New starts a Manager: it loads (or generates) the certificate, or starts
// obtaining one from the ACME server in the background, and watches the
// expiry until Close.
func New(opts Options) (*Manager, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CheckEvery <= 0 {
		opts.CheckEvery = time.Hour
	}
	m := &Manager{opts: opts, log: opts.Logger, done: make(chan struct{})}
	var err error
	switch {
	case opts.ACME != nil:
		if m.fallback, err = selfSignedSource(opts.SelfSignedDir, opts.Hostname); err != nil {
			return nil, err
		}
		if m.acme, err = newACME(*opts.ACME, opts.Hostname, m.log); err != nil {
			return nil, err
		}
		m.src = m.acme
	case opts.CertFile != "":
		if m.src, err = newFileSource(opts.CertFile, opts.KeyFile, min(opts.CheckEvery, 5*time.Second), opts.Now, m.log); err != nil {
			return nil, err
		}
	default:
		src, err := selfSignedSource(opts.SelfSignedDir, opts.Hostname)
		if err != nil {
			return nil, err
		}
		m.src, m.self = src, true
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.stop = cancel
	go m.watch(ctx)
	return m, nil
}

// TLSConfig returns the configuration every TLS listener uses: its
// GetCertificate asks the Manager at each handshake.
func (m *Manager) TLSConfig() *tls.Config {
	cfg := &tls.Config{GetCertificate: m.GetCertificate, MinVersion: tls.VersionTLS12}
	if m.acme != nil {
		cfg.NextProtos = m.acme.nextProtos()
	}
	return cfg
}

// GetCertificate returns the certificate for a handshake. Under ACME,
// until the first certificate is issued, it serves the self-signed one
// rather than failing the handshake.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hello.ServerName == "" {
		hello.ServerName = m.opts.Hostname
	}
	c, err := m.src.getCertificate(hello)
	if err != nil && m.fallback != nil && !isChallenge(hello) {
		return m.fallback.getCertificate(hello)
	}
	return c, err
}

// SelfSigned reports whether the served certificate is our self-signed one.
func (m *Manager) SelfSigned() bool { return m.self }

// HTTPHandler wraps next with the answers to ACME HTTP-01 challenges; it
// returns next unchanged without ACME.
func (m *Manager) HTTPHandler(next http.Handler) http.Handler {
	if m.acme == nil {
		return next
	}
	return m.acme.httpHandler(next)
}

// Leaf returns the certificate served for the hostname now, or nil when
// there is none yet.
func (m *Manager) Leaf() *x509.Certificate { return m.src.leaf(m.opts.Hostname) }

// Close stops the renewals and the expiry watch.
func (m *Manager) Close() {
	m.stop()
	<-m.done
	m.src.close()
}

// watch checks the expiry now and every CheckEvery.
func (m *Manager) watch(ctx context.Context) {
	defer close(m.done)
	t := time.NewTicker(m.opts.CheckEvery)
	defer t.Stop()
	for {
		m.checkExpiry()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkExpiry logs a warning when the hostname's certificate expires
// within ExpiryWarning (ACME renews well before: a warning means renewal
// is failing).
func (m *Manager) checkExpiry() {
	leaf := m.Leaf()
	if leaf == nil {
		return
	}
	left := leaf.NotAfter.Sub(m.opts.Now())
	m.mu.Lock()
	m.notAfter = leaf.NotAfter
	warn := left < ExpiryWarning
	if warn {
		m.warnings++
	}
	m.mu.Unlock()
	if warn {
		m.log.Warn("TLS certificate expires soon", "host", m.opts.Hostname, "not_after", leaf.NotAfter.UTC().Format(time.RFC3339),
			"left", left.Round(time.Minute).String(), "fix", m.fixHint())
	}
}

func (m *Manager) fixHint() string {
	switch {
	case m.acme != nil:
		return "ACME renewal is failing: see the earlier errors (challenge port reachable? DNS pointing here?)"
	case m.self:
		return "delete the self-signed certificate to make a new one, or configure tls.acme"
	}
	return "renew the certificate files (certbot renew); sluice reloads them by itself"
}

// errNoCertificate is returned by a source with nothing to serve yet.
var errNoCertificate = errors.New("certs: no certificate yet")
