package main

import (
	"crypto/rsa"
	"fmt"
	"log/slog"

	"github.com/goccy/go-yaml"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/forward"
	"github.com/sluicemail/sluice/server/srs"
	"github.com/sluicemail/sluice/stages/arc"
	"github.com/sluicemail/sluice/stages/dkim"
	"github.com/sluicemail/sluice/stages/resolver"
)

// Wiring of forwarding (SRS and ARC) and of what the rules must build for
// the server's own use.

// rulesOptions are the rule set's options for a server: the config's arc
// block for the arc stage, and the stages the server runs itself.
func rulesOptions(cfg *config.Config, dns resolver.Resolver) (rules.Options, error) {
	o := rules.Options{DNS: dns, DataDir: cfg.Data, StageConfig: map[string][]byte{},
		Relay: &rules.RelayPolicy{IsLocal: cfg.IsLocal, Allowed: cfg.RedirectsAllowed}}
	if len(cfg.ARC.Trusted) > 0 {
		b, err := yaml.Marshal(map[string][]string{"trusted": cfg.ARC.Trusted})
		if err != nil {
			return o, err
		}
		o.StageConfig["arc"] = b
	}
	if cfg.DMARC.Reports {
		o.Always = append(o.Always, "dmarc")
	}
	if cfg.ARC.Sealing() {
		o.Always = append(o.Always, "arc")
	}
	return o, nil
}

// newForwarder builds the hook every forward goes through: SRS with the
// secret file (created on first start) at the SRS domain, and ARC sealing
// with the primary domain's RSA DKIM key when there is one.
func newForwarder(cfg *config.Config, dns resolver.Resolver, log *slog.Logger) (*forward.Forwarder, error) {
	secrets, err := srs.LoadSecrets(cfg.SRS.SecretFile, true)
	if err != nil {
		return nil, err
	}
	rw, err := srs.New(cfg.SRS.Domain, secrets, srs.Options{})
	if err != nil {
		return nil, err
	}
	f := &forward.Forwarder{SRS: rw, DNS: dns, IsLocal: cfg.IsLocal, Logger: log}
	if cfg.ARC.Sealing() {
		if f.Sealer, err = sealer(cfg); err != nil {
			return nil, err
		}
		if f.Sealer == nil {
			log.Debug("forwarded mail is not ARC-sealed: no RSA DKIM key for the primary domain", "domain", cfg.Domains[0])
		}
	}
	return f, nil
}

// sealer uses the first RSA key configured for the primary domain (ARC
// signs with rsa-sha256 only); nil when there is none.
func sealer(cfg *config.Config) (*arc.Sealer, error) {
	for _, k := range cfg.DKIM.Keys {
		if !cfg.IsLocal(k.Domain) || k.Domain != cfg.Domains[0] {
			continue
		}
		key, err := dkim.LoadKey(k.Key)
		if err != nil {
			return nil, fmt.Errorf("arc: %w", err)
		}
		if rk, ok := key.(*rsa.PrivateKey); ok {
			return &arc.Sealer{Domain: k.Domain, Selector: k.Selector, Key: rk, AuthServID: cfg.Hostname}, nil
		}
	}
	return nil, nil
}
