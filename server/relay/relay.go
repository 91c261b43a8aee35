// Package relay sends mail to other domains over SMTP (RFC 5321): it finds
// the mail exchangers of the recipient domain through the shared resolver
// (falling back to the domain's own address when there is no MX, RFC 5321
// section 5.1, and refusing a null MX, RFC 7505), tries them one after
// another by preference, upgrades with STARTTLS when offered (RFC 3207,
// opportunistic as in RFC 7435), or hands everything to a configured
// smarthost with AUTH PLAIN (RFC 4954). It honours the parameters a
// message arrived with: SMTPUTF8 (RFC 6531, never downgraded: 5.6.7 or
// 5.6.9 toward a server without it) and REQUIRETLS (RFC 8689: verified
// TLS to a server that offers REQUIRETLS, else 5.7.30). Every failure is
// classified as permanent or temporary where it arises.
package relay

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/tlsrpt"
	"github.com/sluicemail/sluice/stages/resolver"
)

// TLSMode is how the connection to a smarthost is secured.
type TLSMode string

// TLS modes.
const (
	TLSNone     TLSMode = "none"     // plain SMTP
	TLSStartTLS TLSMode = "starttls" // STARTTLS required (port 587)
	TLSImplicit TLSMode = "tls"      // TLS from the first byte (port 465)
)

// Smarthost is a relay that takes all outbound mail, for hosts that
// cannot send on port 25.
type Smarthost struct {
	Host      string
	Port      int     // default 587, or 465 with TLSImplicit, 25 with TLSNone
	TLS       TLSMode // default starttls
	Username  string  // AUTH PLAIN when set
	Password  string
	TLSConfig *tls.Config // default: verify the certificate against Host
}

// Options configure a Client.
type Options struct {
	Resolver resolver.Resolver // for MX and address lookups; required without a smarthost
	Hostname string            // our name in EHLO; default "localhost"
	Port     int               // port of the MX hosts; default 25 (tests use another)
	// TLSConfig is used for STARTTLS with MX hosts. The default encrypts
	// without requiring a valid certificate, as opportunistic TLS does
	// (RFC 7435): a failed check would only make us fall back to plain
	// text; the check still runs, for MTA-STS and the TLS reports. A
	// TLSConfig without InsecureSkipVerify requires a valid certificate.
	TLSConfig *tls.Config
	Smarthost *Smarthost

	// MTASTS, when set, gives each recipient domain's MTA-STS policy,
	// which delivery then applies (RFC 8461; see sts.go).
	MTASTS PolicySource
	// TLSRoots validate MX certificates where a policy asks for it; nil
	// means the system's roots (tests inject their CA).
	TLSRoots *x509.CertPool
	// Reports, when set, hears the outcome of every TLS negotiation with
	// an MX host, for TLS-RPT (RFC 8460).
	Reports func(tlsrpt.Result)

	DialTimeout    time.Duration // default 30s
	CommandTimeout time.Duration // per command; default 5m
	DataTimeout    time.Duration // for the reply after the data; default 10m
	Logger         *slog.Logger
}

// Client delivers messages to remote hosts. It is safe for concurrent use.
type Client struct {
	opts Options
	dial net.Dialer
	log  *slog.Logger
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	if opts.Smarthost == nil && opts.Resolver == nil {
		return nil, errors.New("relay: a resolver is needed for MX delivery")
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.Port == 0 {
		opts.Port = 25
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 30 * time.Second
	}
	if opts.CommandTimeout == 0 {
		opts.CommandTimeout = 5 * time.Minute
	}
	if opts.DataTimeout == 0 {
		opts.DataTimeout = 10 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if sh := opts.Smarthost; sh != nil {
		if sh.TLS == "" {
			sh.TLS = TLSStartTLS
		}
		if sh.Port == 0 {
			sh.Port = map[TLSMode]int{TLSNone: 25, TLSStartTLS: 587, TLSImplicit: 465}[sh.TLS]
		}
		switch sh.TLS {
		case TLSNone, TLSStartTLS, TLSImplicit:
		default:
			return nil, errors.New("relay: smarthost TLS mode must be none, starttls or tls")
		}
	}
	return &Client{opts: opts, dial: net.Dialer{Timeout: opts.DialTimeout}, log: opts.Logger}, nil
}

// Send delivers raw from from to the recipients to and returns one error
// per recipient (nil: the next hop accepted it). Bare CR and LF in raw are
// sent as CRLF.
func (c *Client) Send(ctx context.Context, from string, to []string, raw []byte) []error {
	return c.SendWith(ctx, from, to, raw, Params{})
}

// SendWith is Send for a message that arrived with parameters the next hop
// must honour (SMTPUTF8, REQUIRETLS).
func (c *Client) SendWith(ctx context.Context, from string, to []string, raw []byte, p Params) []error {
	data := NormalizeCRLF(raw)
	errs := make([]error, len(to))
	if c.opts.Smarthost != nil {
		c.sendSmarthost(ctx, from, to, data, p, errs)
		return errs
	}
	byDomain := map[string][]int{}
	var order []string
	for i, r := range to {
		d := engine.DomainOf(r)
		if byDomain[d] == nil {
			order = append(order, d)
		}
		byDomain[d] = append(byDomain[d], i)
	}
	for _, d := range order {
		idx := byDomain[d]
		rcpts := make([]string, len(idx))
		for j, i := range idx {
			rcpts[j] = to[i]
		}
		for j, err := range c.sendDomain(ctx, d, from, rcpts, data, p) {
			errs[idx[j]] = err
		}
	}
	return errs
}

// sendDomain tries the mail hosts of domain one after another until one
// gives an answer about the recipients.
func (c *Client) sendDomain(ctx context.Context, domain, from string, to []string, data []byte, p Params) []error {
	hosts, implicit, herr := c.mxHosts(ctx, domain)
	if herr != nil {
		return fill(len(to), herr)
	}
	var last *Error
	policy := c.stsPolicy(ctx, domain)
	for _, h := range hosts {
		check := &tlsCheck{domain: domain, policy: policy}
		if err := c.mxAllowed(check, h); err != nil {
			last = temporary(strings.TrimSuffix(h, "."), err)
			continue
		}
		ips, aerr := c.addrs(ctx, h, implicit)
		if aerr != nil {
			last = aerr
			continue
		}
		for _, ip := range ips {
			t := target{host: strings.TrimSuffix(h, "."), addr: net.JoinHostPort(ip.String(), strconv.Itoa(c.opts.Port)),
				mode: modeOpportunistic}
			t.check = &tlsCheck{domain: domain, policy: policy} // one per connection
			t.tls = c.mxTLS(h, t.check)
			if p.RequireTLS {
				t.mode, t.tls, t.requireTLS = modeStartTLS, c.verifiedTLS(h), true
			}
			errs, final, err := c.deliver(ctx, t, from, to, data, p)
			if final {
				return errs
			}
			last = err
			c.log.Info("mail host failed, trying the next", "host", t.host, "addr", t.addr, "err", err)
		}
	}
	if last == nil {
		last = temporary(domain, errNoHosts)
	}
	return fill(len(to), last)
}

func (c *Client) sendSmarthost(ctx context.Context, from string, to []string, data []byte, p Params, errs []error) {
	sh := c.opts.Smarthost
	if p.RequireTLS && sh.TLS == TLSNone {
		copy(errs, fill(len(to), permanent(sh.Host, "5.7.30", errPlainHost)))
		return
	}
	cfg := sh.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{ServerName: sh.Host, MinVersion: tls.VersionTLS12}
	}
	t := target{host: sh.Host, addr: net.JoinHostPort(sh.Host, strconv.Itoa(sh.Port)), tls: cfg,
		mode: map[TLSMode]connMode{TLSNone: modePlain, TLSStartTLS: modeStartTLS, TLSImplicit: modeImplicit}[sh.TLS],
		user: sh.Username, pass: sh.Password, requireTLS: p.RequireTLS}
	got, final, err := c.deliver(ctx, t, from, to, data, p)
	if !final {
		got = fill(len(to), err)
	}
	copy(errs, got)
}

// mxTLS is the TLS configuration for one MX host: the certificate is
// checked by verifier, which fails the handshake only under an enforced
// MTA-STS policy.
func (c *Client) mxTLS(host string, check *tlsCheck) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.opts.TLSConfig != nil {
		cfg = c.opts.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = strings.TrimSuffix(host, ".")
	}
	cfg.VerifyConnection = c.verifier(check, cfg, cfg.ServerName)
	cfg.InsecureSkipVerify = true
	return cfg
}

func fill(n int, err *Error) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}
