package config

import (
	"fmt"
	"net/mail"
	"path/filepath"
	"strings"
)

// SRS is the Sender Rewriting Scheme for forwarded mail: a forward whose
// sender is at a foreign domain leaves with SRS0=...@<domain>.
type SRS struct {
	// SecretFile holds the HMAC secrets, one a line, the first signing
	// (postsrsd's format). Default <data>/srs.secret, created on first
	// start.
	SecretFile string `yaml:"secret_file"`
	// Domain is the SRS domain; it must be one of the local domains,
	// since bounces to it come back here. Default: the primary domain.
	Domain string `yaml:"domain"`
}

// ARC is the Authenticated Received Chain (RFC 8617).
type ARC struct {
	// Trusted are the forwarders whose ARC results rules may rely on
	// (the fact arc.trusted); a listed domain covers its subdomains.
	Trusted []string `yaml:"trusted"`
	// Seal adds our ARC set to forwarded mail, with the primary domain's
	// RSA DKIM key (default true; nothing is sealed without such a key).
	Seal *bool `yaml:"seal"`
}

// Sealing reports whether forwarded mail is ARC-sealed (default true).
func (a ARC) Sealing() bool { return a.Seal == nil || *a.Seal }

// DMARC configures DMARC aggregate reports (RFC 7489 section 7.2).
type DMARC struct {
	// Reports evaluates DMARC for every inbound message, records it, and
	// sends daily aggregate reports to the domains that ask for them.
	Reports bool `yaml:"reports"`
	// RUA is our own report address (the one in our DMARC record's rua=):
	// reports sent to it are parsed and kept for `sluice dmarc report`.
	// Default with reports on: dmarc-reports@<primary domain>.
	RUA string `yaml:"rua"`
	// From sends our reports; default: the rua address.
	From string `yaml:"from"`
}

// fillForwarding sets the defaults of srs, arc and dmarc.
func (c *Config) fillForwarding() {
	primary := ""
	if len(c.Domains) > 0 {
		primary = c.Domains[0]
	}
	c.SRS.Domain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(c.SRS.Domain)), ".")
	if c.SRS.Domain == "" {
		c.SRS.Domain = primary
	}
	if c.SRS.SecretFile == "" {
		c.SRS.SecretFile = filepath.Join(c.Data, "srs.secret")
	}
	if c.DMARC.Reports && c.DMARC.RUA == "" && primary != "" {
		c.DMARC.RUA = "dmarc-reports@" + primary
	}
	if c.DMARC.From == "" {
		c.DMARC.From = c.DMARC.RUA
	}
}

func (c *Config) validateForwarding() []fieldError {
	var errs []fieldError
	if c.SRS.Domain != "" && len(c.Domains) > 0 && !c.IsLocal(c.SRS.Domain) {
		errs = append(errs, fieldError{"$.srs.domain", fmt.Sprintf("%q is not one of the local domains: bounces to it would not come back here", c.SRS.Domain)})
	}
	for i, d := range c.ARC.Trusted {
		if d == "" || strings.ContainsAny(d, "@ []/:") {
			errs = append(errs, fieldError{fmt.Sprintf("$.arc.trusted[%d]", i), fmt.Sprintf("%q is not a domain name", d)})
		}
	}
	for key, addr := range map[string]string{"rua": c.DMARC.RUA, "from": c.DMARC.From} {
		if addr == "" {
			continue
		}
		a, err := mail.ParseAddress(addr)
		if err != nil || a.Address != addr {
			errs = append(errs, fieldError{"$.dmarc." + key, fmt.Sprintf("%q is not a mail address", addr)})
			continue
		}
		if key == "rua" && !c.IsLocal(addr[strings.LastIndexByte(addr, '@')+1:]) {
			errs = append(errs, fieldError{"$.dmarc.rua", fmt.Sprintf("%q is not at a local domain", addr)})
		}
	}
	return errs
}
