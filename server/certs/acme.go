package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"
	"go.uber.org/zap"
)

// Why certmagic rather than golang.org/x/crypto/acme/autocert: autocert
// renews a fixed 30 days before expiry with an hour of jitter and no way
// to set a renewal window, so a short-lived certificate (the test's, and
// the six-day ones CAs now offer) renews in a loop; it keeps no account
// of failures to warn about and knows nothing of ACME Renewal Information.
// certmagic renews by a share of the lifetime and by ARI, answers HTTP-01
// and TLS-ALPN-01 from listeners we own, and trusts a private CA's roots.

// ACME configures certificates from an ACME server.
type ACME struct {
	CA    string         // directory URL
	Email string         // account contact; may be empty
	Roots *x509.CertPool // roots trusted for the CA's HTTPS; nil: the system's
	Names []string       // names to get certificates for, the hostname first
	Dir   string         // storage: account key, certificates, locks

	// HTTPAddr and HTTPSAddr are our web listeners (host:port). HTTP-01
	// challenges are answered on the first through HTTPHandler, TLS-ALPN-01
	// on the second through the tls.Config; a challenge type whose
	// listener is not set is not used.
	HTTPAddr, HTTPSAddr string

	RenewCheck  time.Duration // how often renewals are considered; default 10 minutes
	RenewWindow float64       // share of the lifetime left at which to renew; default 1/3
}

// acmeSource obtains and renews certificates with certmagic.
type acmeSource struct {
	cfg    *certmagic.Config
	cache  *certmagic.Cache
	issuer *certmagic.ACMEIssuer
	cancel context.CancelFunc
	names  []string
}

func newACME(a ACME, host string, log *slog.Logger) (*acmeSource, error) {
	if len(a.Names) == 0 {
		a.Names = []string{host}
	}
	if a.HTTPAddr == "" && a.HTTPSAddr == "" {
		return nil, fmt.Errorf("acme: no listener to answer challenges on (listen.http or listen.https)")
	}
	if err := os.MkdirAll(a.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("acme: %w", err)
	}
	zl := newZap(log)
	s := &acmeSource{names: a.Names}
	s.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return s.cfg, nil },
		RenewCheckInterval: a.RenewCheck,
		Logger:             zl,
	})
	s.cfg = certmagic.New(s.cache, certmagic.Config{
		Storage:            &certmagic.FileStorage{Path: a.Dir},
		DefaultServerName:  host,
		FallbackServerName: host,
		RenewalWindowRatio: a.RenewWindow,
		// Let's Encrypt ended OCSP in 2025; a staple would cost a fetch
		// per certificate for nothing.
		OCSP:    certmagic.OCSPConfig{DisableStapling: true},
		OnEvent: onEvent(log),
		Logger:  zl,
	})
	s.issuer = certmagic.NewACMEIssuer(s.cfg, issuerTemplate(a, zl))
	s.cfg.Issuers = []certmagic.Issuer{s.issuer}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	// In the background: the server starts on the self-signed certificate
	// and switches when the CA has answered.
	if err := s.cfg.ManageAsync(ctx, a.Names); err != nil {
		s.close()
		return nil, fmt.Errorf("acme: %w", err)
	}
	return s, nil
}

func issuerTemplate(a ACME, zl *zap.Logger) certmagic.ACMEIssuer {
	t := certmagic.ACMEIssuer{
		CA: a.CA, Email: a.Email, Agreed: true, TrustedRoots: a.Roots, Logger: zl,
		DisableHTTPChallenge:    a.HTTPAddr == "",
		DisableTLSALPNChallenge: a.HTTPSAddr == "",
	}
	// certmagic answers a challenge from its own listener when it can bind
	// the port; pointing it at ours makes the bind fail, and it then hands
	// the challenge to the listener already there (ours).
	if h, p, err := net.SplitHostPort(a.HTTPAddr); err == nil {
		t.ListenHost = h
		t.AltHTTPPort, _ = strconv.Atoi(p)
	}
	if h, p, err := net.SplitHostPort(a.HTTPSAddr); err == nil {
		t.ListenHost = h
		t.AltTLSALPNPort, _ = strconv.Atoi(p)
	}
	return t
}

// onEvent logs what matters to the operator: a certificate obtained or
// renewed, and a failure.
func onEvent(log *slog.Logger) func(context.Context, string, map[string]any) error {
	return func(_ context.Context, event string, data map[string]any) error {
		switch event {
		case "cert_obtained":
			log.Info("certificate obtained", "name", data["identifier"], "renewal", data["renewal"], "issuer", data["issuer"])
		case "cert_failed":
			log.Error("certificate request failed", "name", data["identifier"], "renewal", data["renewal"], "err", data["error"])
		}
		return nil
	}
}

func (s *acmeSource) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.cfg.GetCertificate(hello)
}

// leaf returns the newest managed certificate for name.
func (s *acmeSource) leaf(name string) *x509.Certificate {
	var best *x509.Certificate
	for _, c := range s.cache.AllMatchingCertificates(name) {
		if c.Leaf != nil && (best == nil || c.Leaf.NotAfter.After(best.NotAfter)) {
			best = c.Leaf
		}
	}
	return best
}

func (s *acmeSource) nextProtos() []string { return []string{acmez.ACMETLS1Protocol} }

func (s *acmeSource) httpHandler(next http.Handler) http.Handler {
	return s.issuer.HTTPChallengeHandler(next)
}

func (s *acmeSource) close() {
	s.cancel()
	s.cache.Stop()
}

// isChallenge reports a TLS-ALPN-01 validation handshake (RFC 8737
// section 3), which must never get the fallback certificate.
func isChallenge(hello *tls.ClientHelloInfo) bool {
	return slices.Contains(hello.SupportedProtos, acmez.ACMETLS1Protocol)
}

// LoadRoots reads a PEM file of CA certificates.
func LoadRoots(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("tls.acme.ca_root: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("tls.acme.ca_root: %s holds no PEM certificate", path)
	}
	return pool, nil
}
