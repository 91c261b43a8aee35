package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sluicemail/sluice/server/config"
)

// fileSource serves one certificate from PEM files and reads them again
// when their modification time or size changes (certbot renewing them), at
// most once per interval. A renewed pair that does not load (a key written
// a moment after its certificate) is retried at the next check; the old
// certificate serves until then.
type fileSource struct {
	certPath, keyPath string
	every             time.Duration
	now               func() time.Time
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string // modification times and sizes of the two files
	checked time.Time
}

func newFileSource(certPath, keyPath string, every time.Duration, now func() time.Time, log *slog.Logger) (*fileSource, error) {
	s := &fileSource{certPath: certPath, keyPath: keyPath, every: every, now: now, log: log}
	stamp, err := s.currentStamp()
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	if err := s.load(stamp); err != nil {
		return nil, err
	}
	s.checked = now()
	return s, nil
}

// selfSignedSource serves the self-signed certificate in dir, generating
// it on first use (for host, localhost and the loopback addresses).
func selfSignedSource(dir, host string) (*fileSource, error) {
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := config.EnsureSelfSigned(certPath, keyPath, host); err != nil {
		return nil, err
	}
	// Never replaced while running: no need to look at the files again.
	return newFileSource(certPath, keyPath, 24*time.Hour*365, time.Now, slog.New(slog.DiscardHandler))
}

func (s *fileSource) currentStamp() (string, error) {
	var stamp string
	for _, p := range []string{s.certPath, s.keyPath} {
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		stamp += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return stamp, nil
}

func (s *fileSource) load(stamp string) error {
	pair, err := tls.LoadX509KeyPair(s.certPath, s.keyPath)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	s.mu.Lock()
	s.cert, s.stamp = &pair, stamp
	s.mu.Unlock()
	return nil
}

func (s *fileSource) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.refresh()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cert, nil
}

// refresh reloads the files when they changed since the last look.
func (s *fileSource) refresh() {
	s.mu.Lock()
	due := s.now().Sub(s.checked) >= s.every
	if due {
		s.checked = s.now()
	}
	old := s.stamp
	s.mu.Unlock()
	if !due {
		return
	}
	stamp, err := s.currentStamp()
	if err != nil || stamp == old {
		return
	}
	if err := s.load(stamp); err != nil {
		s.log.Warn("renewed certificate files do not load; serving the previous certificate", "cert", s.certPath, "err", err)
		return
	}
	s.log.Info("certificate files changed: serving the new certificate", "cert", s.certPath, "not_after", s.leafNotAfter())
}

func (s *fileSource) leafNotAfter() string {
	if l := s.leaf(""); l != nil {
		return l.NotAfter.UTC().Format(time.RFC3339)
	}
	return ""
}

func (s *fileSource) leaf(string) *x509.Certificate {
	s.refresh()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cert.Leaf // tls.LoadX509KeyPair fills it in (Go 1.23 on)
}

func (s *fileSource) close() {}
