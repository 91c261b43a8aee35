package config

import (
	"fmt"
	"net/netip"
	"time"
)

// ACME asks an ACME server (RFC 8555) for the certificates: for the
// hostname and, for every local domain, its mta-sts. and autoconfig.
// hosts. Challenges are answered on listen.http (HTTP-01) or
// listen.https (TLS-ALPN-01, RFC 8737).
type ACME struct {
	Email  string `yaml:"email"`   // contact for expiry notices from the CA; may be empty
	CA     string `yaml:"ca"`      // directory URL; default Let's Encrypt
	CARoot string `yaml:"ca_root"` // PEM file of roots to trust for the CA's own HTTPS (a private CA such as Pebble)
}

// LetsEncrypt is the ACME directory used when tls.acme.ca is empty.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// MTASTS is the policy published at https://mta-sts.<domain>/.well-known/mta-sts.txt
// for every local domain (RFC 8461 section 3.2).
type MTASTS struct {
	Mode   string   `yaml:"mode"`    // testing (default), enforce or none
	MaxAge Duration `yaml:"max_age"` // how long senders may cache it; default 1 week
	MX     []string `yaml:"mx"`      // MX patterns; default the hostname
}

// The MTA-STS policy modes (RFC 8461 section 5).
const (
	STSTesting = "testing"
	STSEnforce = "enforce"
	STSNone    = "none"
)

func (c *Config) fillWebDefaults() {
	if a := c.TLS.ACME; a != nil && a.CA == "" {
		a.CA = LetsEncrypt
	}
	if c.MTASTS.Mode == "" {
		c.MTASTS.Mode = STSTesting
	}
	if c.MTASTS.MaxAge == 0 {
		c.MTASTS.MaxAge = Duration(7 * 24 * time.Hour)
	}
	if len(c.MTASTS.MX) == 0 {
		c.MTASTS.MX = []string{c.Hostname}
	}
}

func (c *Config) validateWeb() []fieldError {
	var errs []fieldError
	bad := func(path, format string, args ...any) {
		errs = append(errs, fieldError{path, fmt.Sprintf(format, args...)})
	}
	if c.TLS.ACME != nil {
		if c.TLS.Cert != "" {
			bad("$.tls.acme", "acme and cert/key exclude each other")
		}
		if c.Listen.HTTP == "" && c.Listen.HTTPS == "" {
			bad("$.tls.acme", "ACME needs listen.http (HTTP-01 challenges, port 80) or listen.https (TLS-ALPN-01, port 443)")
		}
	}
	for i, ip := range c.PublicIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			bad(fmt.Sprintf("$.public_ips[%d]", i), "%q is not an IP address", ip)
		}
	}
	switch c.MTASTS.Mode {
	case STSTesting, STSEnforce, STSNone:
	default:
		bad("$.mta_sts.mode", "unknown mode %q (want testing, enforce or none)", c.MTASTS.Mode)
	}
	// RFC 8461 section 3.2: max_age is at most 31557600 seconds.
	if c.MTASTS.MaxAge.D() > 31557600*time.Second {
		bad("$.mta_sts.max_age", "longer than a year (RFC 8461 section 3.2)")
	}
	return errs
}

// ApplyMTASTS reports whether outbound delivery applies the recipient
// domains' MTA-STS policies (relay.mta_sts, default true).
func (r Relay) ApplyMTASTS() bool { return r.MTASTS == nil || *r.MTASTS }

// SendTLSReports reports whether TLS reports are sent to the recipient
// domains that ask for them (relay.tls_reports, default true).
func (r Relay) SendTLSReports() bool { return r.TLSReports == nil || *r.TLSReports }

// ACMENames returns the names certificates are asked for: the hostname,
// then mta-sts.<domain> and autoconfig.<domain> for each local domain,
// the latter two only when a web listener serves them.
func (c *Config) ACMENames() []string {
	names := []string{c.Hostname}
	if c.Listen.HTTP == "" && c.Listen.HTTPS == "" {
		return names
	}
	seen := map[string]bool{c.Hostname: true}
	for _, d := range c.Domains {
		for _, n := range []string{"mta-sts." + d, "autoconfig." + d} {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return names
}
