// Package config reads sluice's one configuration file (YAML, decoded
// strictly: an unknown or misspelt key is an error naming the key and its
// line) and holds the embedded default that `sluice serve` uses when no
// file is given. Relative paths in a file are relative to the file's own
// directory, so a config and its data can move together.
package config

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
)

// Config is the whole server configuration. The YAML keys are the
// snake_case names in the struct tags; examples/sluice.yaml documents each.
type Config struct {
	Hostname   string     `yaml:"hostname"`   // name in the greeting, Received and HELO; default: the OS host name
	Domains    []string   `yaml:"domains"`    // the local domains, mail for which is delivered here
	Data       string     `yaml:"data"`       // data directory: spool, mailboxes, accounts, certificate
	Listen     Listen     `yaml:"listen"`     // listener addresses; an empty one is off
	TLS        TLS        `yaml:"tls"`        // certificate; empty means a self-signed one in the data directory
	Rules      string     `yaml:"rules"`      // rule directory; empty means the example rules written into <data>/rules
	DNS        DNS        `yaml:"dns"`        // resolver upstreams or a zone file
	Relay      Relay      `yaml:"relay"`      // outbound delivery: direct to MX or through a smarthost
	Queue      Queue      `yaml:"queue"`      // retry schedule and lifetime of queued mail
	DKIM       DKIM       `yaml:"dkim"`       // signing keys for outbound mail
	Limits     Limits     `yaml:"limits"`     // sizes, counts and timeouts
	Quota      Size       `yaml:"quota"`      // per-user mailbox storage; 0 means unlimited
	Submission Submission `yaml:"submission"` // rules for authenticated senders
	Log        Log        `yaml:"log"`        // log level and format
	SRS        SRS        `yaml:"srs"`        // sender rewriting for forwarded mail
	ARC        ARC        `yaml:"arc"`        // trusted ARC sealers; sealing forwarded mail
	DMARC      DMARC      `yaml:"dmarc"`      // DMARC aggregate reports, sent and received
	PublicIPs  []string   `yaml:"public_ips"` // this server's public addresses, for `sluice doctor` (default: the machine's global addresses)
	MTASTS     MTASTS     `yaml:"mta_sts"`    // the MTA-STS policy published for the local domains (RFC 8461)
	State      State      `yaml:"state"`      // rate limits, greylisting, bans: the data directory, or Redis shared by several nodes
	Migration  Migration  `yaml:"migration"`  // soft_bounce and imported passwords, while moving from another server

	// RedirectsAllowed are the non-local addresses a rule may redirect
	// mail from unauthenticated senders to; the relay-safety proof at
	// load refuses any other (rules.ProveRelaySafety).
	RedirectsAllowed []string `yaml:"redirects_allowed"`
	// ShadowRules is a second rule directory (the layout of rules:)
	// evaluated beside the live one on every message, never acting;
	// `sluice shadow report` lists where the two disagree.
	ShadowRules string `yaml:"shadow_rules"`
	// Journal is the verdict journal's retention (journal.go).
	Journal Journal `yaml:"journal"`

	// File is the path the config was read from ("" for the default).
	File string `yaml:"-"`
}

// Listen holds one host:port per listener. An empty address disables it.
type Listen struct {
	SMTP        string `yaml:"smtp"`        // MX, port 25 in production: no AUTH, local domains only
	Submission  string `yaml:"submission"`  // port 587: STARTTLS, then AUTH
	Submissions string `yaml:"submissions"` // port 465: implicit TLS, then AUTH
	IMAP        string `yaml:"imap"`        // port 143: STARTTLS
	IMAPS       string `yaml:"imaps"`       // port 993: implicit TLS
	Admin       string `yaml:"admin"`       // HTTP /healthz, /metrics, POST /reload; keep it on loopback
	HTTP        string `yaml:"http"`        // port 80: ACME HTTP-01 challenges, the MTA-STS policy, autoconfig
	HTTPS       string `yaml:"https"`       // port 443: the MTA-STS policy and autoconfig over TLS, ACME TLS-ALPN-01
	Milter      string `yaml:"milter"`      // milter for an MTA in front (Postfix smtpd_milters = inet:ADDR); keep it on loopback
	ManageSieve string `yaml:"managesieve"` // port 4190: users edit their Sieve scripts (RFC 5804), STARTTLS then AUTH
}

// TLS names the certificate and key files (PEM), or asks for certificates
// from an ACME server. Neither means a self-signed certificate.
type TLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	ACME *ACME  `yaml:"acme"`
}

// DNS chooses the resolver: upstream servers, or a zone file answering
// alone with no network (tests, demos). Neither means /etc/resolv.conf.
type DNS struct {
	Servers  []string `yaml:"servers"`
	Zonefile string   `yaml:"zonefile"`
	// HealthWindow is how far back failed queries count for /readyz, the
	// dns.degraded fact and the WARN line (default 1m).
	HealthWindow Duration `yaml:"health_window"`
}

// Relay is how mail for other domains leaves: direct MX delivery unless a
// smarthost is set.
type Relay struct {
	// Port is the destination port for direct MX delivery (default 25);
	// only tests and unusual networks change it.
	Port      int        `yaml:"port"`
	Smarthost *Smarthost `yaml:"smarthost"`
	// MTASTS applies each recipient domain's MTA-STS policy (RFC 8461);
	// default true. TLSReports sends the TLS reports (RFC 8460) that
	// recipient domains ask for; default true.
	MTASTS     *bool `yaml:"mta_sts"`
	TLSReports *bool `yaml:"tls_reports"`
}

// Smarthost is a relay server that accepts our mail, usually with AUTH on
// port 587 or 465.
type Smarthost struct {
	Host         string `yaml:"host"`
	Port         int    `yaml:"port"`          // default 587, or 465 with tls: tls
	TLS          string `yaml:"tls"`           // none, starttls (default) or tls
	Username     string `yaml:"username"`      // empty means no AUTH
	PasswordFile string `yaml:"password_file"` // file holding the password (first line)
}

// The smarthost TLS modes.
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
)

// Queue sets the retry schedule of outbound mail.
type Queue struct {
	Retry  []Duration `yaml:"retry"`  // delays between attempts; the last repeats
	Expire Duration   `yaml:"expire"` // give up and bounce after this long
}

// DKIM lists the signing keys; outbound mail whose From domain has a key
// is signed unless a rule says otherwise.
type DKIM struct {
	Keys []DKIMKey `yaml:"keys"`
}

// DKIMKey is one signing key (PEM file, RSA or Ed25519).
type DKIMKey struct {
	Domain   string `yaml:"domain"`
	Selector string `yaml:"selector"`
	Key      string `yaml:"key"`
}

// Limits bound what one client can make the server do.
type Limits struct {
	MessageSize       Size     `yaml:"message_size"`         // largest message accepted (SIZE)
	HeaderSize        Size     `yaml:"header_size"`          // largest header block
	DataInFlight      Size     `yaml:"data_in_flight"`       // DATA held in memory by all sessions at once
	LineLength        int      `yaml:"line_length"`          // longest line, command or DATA, including CRLF
	Recipients        int      `yaml:"recipients"`           // RCPTs per transaction
	Connections       int      `yaml:"connections"`          // SMTP connections in total
	ConnectionsPerIP  int      `yaml:"connections_per_ip"`   // concurrent SMTP connections per client IP
	AuthFailuresPerIP int      `yaml:"auth_failures_per_ip"` // failed AUTHs per IP before it is refused for auth_ban
	AuthBan           Duration `yaml:"auth_ban"`             // how long too many failures block AUTH from an IP
	GreetDelay        Duration `yaml:"greet_delay"`          // MX: wait before the 220 and drop clients that talk first (0: off)
	Timeouts          Timeouts `yaml:"timeouts"`
	// MinFree and MinFreePercent are the space that must stay available on
	// the data directory's file system; below either, new mail gets 452
	// 4.3.1. Neither set: 100MB.
	MinFree        Size    `yaml:"min_free"`
	MinFreePercent float64 `yaml:"min_free_percent"`
}

// Timeouts bound idle clients and shutdown.
type Timeouts struct {
	Command  Duration `yaml:"command"`  // waiting for a command or a DATA line
	Shutdown Duration `yaml:"shutdown"` // sessions may finish this long after SIGTERM
}

// Submission holds the policy for authenticated senders.
type Submission struct {
	// RequireFromMatch makes MAIL FROM and the From header address belong
	// to the authenticated user (the account or one of its aliases).
	RequireFromMatch *bool `yaml:"require_from_match"`
}

// FromMatch reports whether sender addresses must belong to the user
// (default true).
func (s Submission) FromMatch() bool { return s.RequireFromMatch == nil || *s.RequireFromMatch }

// Log sets logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // text (default) or json
}

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded default configuration text.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// Default returns the embedded default configuration, with relative paths
// under the current directory.
func Default() (*Config, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	return Parse(defaultYAML, "(default config)", wd)
}

// Load reads and checks the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data, path, filepath.Dir(abs))
	if err != nil {
		return nil, err
	}
	c.File = abs
	return c, nil
}

// Parse decodes data (named name in errors), fills defaults, resolves
// relative paths against base and validates. Errors name the key and line.
func Parse(data []byte, name, base string) (*Config, error) {
	var c Config
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: empty config", name)
	}
	if err := decode(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimSpace(yaml.FormatError(err, false, true)))
	}
	c.fillDefaults()
	if errs := c.validate(); len(errs) > 0 {
		return nil, locate(data, name, errs)
	}
	c.resolve(base)
	c.fillForwarding()
	return &c, nil
}

// decode unmarshals strictly. The YAML decoder panics on some malformed
// input (found by FuzzParse); that is a syntax error, not a crash.
func decode(data []byte, c *Config) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed YAML: %v", p)
		}
	}()
	return yaml.UnmarshalWithOptions(data, c, yaml.Strict())
}

func (c *Config) fillDefaults() {
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
		if c.Hostname == "" {
			c.Hostname = "localhost"
		}
	}
	c.Hostname = strings.TrimSuffix(strings.ToLower(c.Hostname), ".")
	for i, d := range c.Domains {
		c.Domains[i] = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	}
	if c.Data == "" {
		c.Data = "sluice-data"
	}
	if c.Relay.Port == 0 {
		c.Relay.Port = 25
	}
	if s := c.Relay.Smarthost; s != nil {
		if s.TLS == "" {
			s.TLS = TLSStartTLS
		}
		if s.Port == 0 {
			s.Port = map[string]int{TLSImplicit: 465, TLSStartTLS: 587, TLSNone: 25}[s.TLS]
		}
	}
	if len(c.Queue.Retry) == 0 {
		for _, m := range []int{1, 5, 15, 30, 60, 120, 240} {
			c.Queue.Retry = append(c.Queue.Retry, Duration(int64(m)*int64(60e9)))
		}
	}
	if c.Queue.Expire == 0 {
		c.Queue.Expire = Duration(5 * 24 * 3600e9)
	}
	c.Limits.fillDefaults()
	c.fillWebDefaults()
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
}

func (l *Limits) fillDefaults() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	if l.MessageSize == 0 {
		l.MessageSize = 25 << 20
	}
	if l.HeaderSize == 0 {
		l.HeaderSize = 256 << 10
	}
	if l.DataInFlight == 0 {
		l.DataInFlight = 512 << 20
	}
	def(&l.LineLength, 4096)
	def(&l.Recipients, 100)
	def(&l.Connections, 1000)
	def(&l.ConnectionsPerIP, 20)
	def(&l.AuthFailuresPerIP, 5)
	if l.AuthBan == 0 {
		l.AuthBan = Duration(15 * 60e9)
	}
	if l.Timeouts.Command == 0 {
		l.Timeouts.Command = Duration(5 * 60e9)
	}
	if l.Timeouts.Shutdown == 0 {
		l.Timeouts.Shutdown = Duration(30e9)
	}
	if l.MinFree == 0 && l.MinFreePercent == 0 {
		l.MinFree = 100 << 20
	}
}

// resolve makes every relative path absolute against base.
func (c *Config) resolve(base string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	abs(&c.Data)
	abs(&c.Rules)
	abs(&c.ShadowRules)
	abs(&c.TLS.Cert)
	abs(&c.TLS.Key)
	abs(&c.DNS.Zonefile)
	abs(&c.SRS.SecretFile)
	if c.TLS.ACME != nil {
		abs(&c.TLS.ACME.CARoot)
	}
	if c.Relay.Smarthost != nil {
		abs(&c.Relay.Smarthost.PasswordFile)
	}
	for i := range c.DKIM.Keys {
		abs(&c.DKIM.Keys[i].Key)
	}
	if c.State.Redis != nil {
		abs(&c.State.Redis.PasswordFile)
		abs(&c.State.Redis.CAFile)
	}
}

// IsLocal reports whether domain (any case, trailing dot allowed) is one
// of the local domains.
func (c *Config) IsLocal(domain string) bool {
	d := strings.TrimSuffix(strings.ToLower(domain), ".")
	for _, l := range c.Domains {
		if l == d {
			return true
		}
	}
	return false
}
