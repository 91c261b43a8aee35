// Package smtp is sluice's SMTP server (RFC 5321) on top of
// github.com/emersion/go-smtp: the MX listener, which takes mail only for
// the local domains and never relays, and the submission listeners
// (RFC 6409: 587 with STARTTLS, RFC 8314: 465 with implicit TLS), where
// users authenticate (RFC 4954, PLAIN and LOGIN, only over TLS) and may
// send anywhere. Every transaction runs the rule pipeline phase by phase,
// answers with a rule's reply as early as its facts allow, adds Received
// and Authentication-Results (RFC 8601) fields, and acknowledges DATA only
// once the queue has the message on disk.
package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/forward"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/stages/resolver"
)

// The listener kinds.
const (
	MX          = "smtp"        // port 25: inbound, no AUTH
	Submission  = "submission"  // port 587: STARTTLS then AUTH
	Submissions = "submissions" // port 465: implicit TLS then AUTH
)

// Queue is what the server needs of the spool: Put returns only once the
// message is durable.
type Queue interface {
	Put(ctx context.Context, env queue.Envelope, raw []byte) (string, error)
}

// Accounts resolves recipients and checks passwords (server/auth).
type Accounts interface {
	Authenticate(user, pass string) error
	Resolve(rcpt string) (users []string, ok bool)
	Owns(user, addr string) bool
}

// Quota is the mailbox store's quota check (server/store); its error is a
// *store.QuotaError when the user is over quota.
type Quota interface {
	CheckQuota(user string, size int64) error
}

// Headroom says whether the file system of the data directory is too full
// to take new mail (server/diskfree).
type Headroom interface {
	Low() bool
}

// Signer DKIM-signs outbound mail (stages/dkim).
type Signer interface {
	Sign(raw []byte) ([]byte, error)
}

// Options configure a Server. Hostname, Domains, Queue and Accounts are
// required.
type Options struct {
	Hostname string   // greeting, Received, authserv-id
	Domains  []string // local domains, lower-case
	Queue    Queue
	Accounts Accounts
	// Pipeline returns the current pipeline by name ("inbound",
	// "outbound"); nil or a nil result means no rules (accept).
	Pipeline func(name string) *engine.Pipeline
	DNS      resolver.Resolver // for the stages; nil: the pipeline's own
	Quota    Quota             // nil: no quota
	Headroom Headroom          // nil: the disk is never too full
	Signer   Signer            // nil: no DKIM signing
	TLS      *tls.Config       // nil: no STARTTLS and no submission AUTH
	// Forward rewrites the sender (SRS) and seals (ARC) the mail that
	// leaves for an address the client did not name: redirects and
	// aliases pointing outside. nil forwards unchanged. Its SRS also
	// makes bounces to our SRS addresses find the original sender.
	Forward *forward.Forwarder
	// Reports records DMARC evaluations for aggregate reports and takes
	// in the reports sent to our rua address; nil: off.
	Reports Reports
	// Sent is told the recipients of every message an authenticated user
	// submits, once it is queued: who a user writes to is evidence that
	// their mail is wanted (the sender stage's book). nil: nobody is told.
	Sent func(user string, rcpts []string)
	// Journal records every verdict (server/journal); nil: off.
	Journal Journal
	// Shadow is handed each journalled verdict to evaluate with the
	// shadow rules (server/shadow); nil: none. It needs the journal.
	Shadow Shadow

	MaxMessageBytes  int64         // default 25 MiB
	MaxHeaderBytes   int64         // default 256 KiB
	MaxDataInFlight  int64         // DATA bytes held by all sessions at once; default 512 MiB
	MaxLineLength    int           // default 4096
	MaxRecipients    int           // default 100
	MaxConnections   int           // default 1000
	MaxConnsPerIP    int           // default 20
	MaxAuthFailures  int           // per IP before a ban; default 5
	AuthBan          time.Duration // default 15m
	Bans             Bans          // auth-failure bans shared with other nodes; nil: this node's alone
	Timeout          time.Duration // per command; default 5m
	RequireFromMatch bool          // submission: MAIL FROM and From must be the user's
	// GreetDelay makes the MX listener wait this long before its 220 and
	// drop a client that talks first (0: greet at once).
	GreetDelay time.Duration
	// SoftBounce sends every permanent refusal (5xx) as a temporary one
	// (4xx) and logs the reply it replaced (migration: {soft_bounce}).
	SoftBounce bool

	Logger  *slog.Logger
	Metrics *Metrics // nil: a private one
	// DNSDegraded, if set, gives the dns.degraded fact of each new
	// transaction (the resolver's health, server/health).
	DNSDegraded func() bool
	// Verdicts, if set, receives each verdict (the console's live list).
	Verdicts VerdictSink
}

func (o *Options) defaults() {
	setInt := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 25 << 20
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 256 << 10
	}
	if o.MaxDataInFlight <= 0 {
		o.MaxDataInFlight = 512 << 20
	}
	setInt(&o.MaxLineLength, 4096)
	setInt(&o.MaxRecipients, 100)
	setInt(&o.MaxConnections, 1000)
	setInt(&o.MaxConnsPerIP, 20)
	setInt(&o.MaxAuthFailures, 5)
	if o.AuthBan <= 0 {
		o.AuthBan = 15 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.Pipeline == nil {
		o.Pipeline = func(string) *engine.Pipeline { return nil }
	}
	for i, d := range o.Domains {
		o.Domains[i] = strings.TrimSuffix(strings.ToLower(d), ".")
	}
}

// Server runs the SMTP listeners of one sluice instance. Its listeners
// share the limits (connections per IP, failed AUTHs per IP).
type Server struct {
	opts   Options
	router Router
	log    *slog.Logger
	conns  *connLimiter
	auth   *authLimiter
	mem    *memBudget

	mu      sync.Mutex
	servers []*gosmtp.Server
	addrs   map[string]net.Addr
}

// New returns a server; add listeners with Listen.
func New(opts Options) (*Server, error) {
	opts.defaults()
	if opts.Hostname == "" || len(opts.Domains) == 0 || opts.Queue == nil || opts.Accounts == nil {
		return nil, errors.New("smtp: Hostname, Domains, Queue and Accounts are required")
	}
	return &Server{
		opts:   opts,
		router: newRouter(opts),
		log:    opts.Logger,
		conns:  newConnLimiter(opts.MaxConnections, opts.MaxConnsPerIP, opts.Timeout),
		auth:   newAuthLimiter(opts.MaxAuthFailures, opts.AuthBan, opts.Bans),
		mem:    &memBudget{max: opts.MaxDataInFlight},
		addrs:  map[string]net.Addr{},
	}, nil
}

// Metrics returns the server's counters.
func (s *Server) Metrics() *Metrics { return s.opts.Metrics }

// Listen opens a listener of the given kind (MX, Submission, Submissions)
// on addr and serves it in the background. It returns the bound address
// (useful with port 0).
func (s *Server) Listen(kind, addr string) (net.Addr, error) {
	if kind != MX && kind != Submission && kind != Submissions {
		return nil, fmt.Errorf("smtp: unknown listener kind %q", kind)
	}
	if kind != MX && s.opts.TLS == nil {
		return nil, fmt.Errorf("smtp: %s needs a TLS certificate", kind)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smtp %s: %w", kind, err)
	}
	// The limiter wraps the TCP listener; TLS goes on top, so that go-smtp
	// sees a *tls.Conn and knows the session is encrypted.
	// Sessions are counted when the connection closes: go-smtp's session
	// objects are two for a connection that used STARTTLS, and none for
	// one that never said EHLO.
	m := s.opts.Metrics
	m.listening(kind)
	l = s.conns.wrap(l, kind != Submissions, func(lc *limitedConn) { m.Session(kind, lc.tally.outcome()) })
	if kind == MX && s.opts.GreetDelay > 0 {
		l = &pregreetListener{Listener: l, delay: s.opts.GreetDelay, onEarly: s.pregreetReply}
	}
	if kind == Submissions {
		l = &tlsListener{Listener: l, cfg: s.opts.TLS}
	}
	gs := gosmtp.NewServer(&backend{srv: s, kind: kind})
	gs.Domain = s.opts.Hostname
	gs.TLSConfig = startTLSConfig(s.opts.TLS)
	gs.MaxMessageBytes = s.opts.MaxMessageBytes
	gs.MaxRecipients = s.opts.MaxRecipients
	gs.MaxLineLength = s.opts.MaxLineLength
	gs.ReadTimeout = s.opts.Timeout
	gs.WriteTimeout = s.opts.Timeout
	gs.EnableSMTPUTF8 = true
	// REQUIRETLS (RFC 8689): go-smtp lists it in EHLO only on a TLS
	// session; the relay honours it for every message that carries it.
	gs.EnableREQUIRETLS = s.opts.TLS != nil
	// AUTH is offered only over TLS (the session lists no mechanisms
	// otherwise); allowing "insecure" auth here lets the session answer
	// a plaintext AUTH with 538 5.7.11 itself instead of go-smtp's 523.
	gs.AllowInsecureAuth = true
	gs.ErrorLog = slogLogger{s.log}
	gs.RewriteReply = s.replyHook(kind)
	s.mu.Lock()
	s.servers = append(s.servers, gs)
	s.addrs[kind] = l.Addr()
	s.mu.Unlock()
	go gs.Serve(l)
	return l.Addr(), nil
}

// Addr returns the bound address of a listener kind, nil if none.
func (s *Server) Addr(kind string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[kind]
}

// slogLogger routes go-smtp's internal errors to slog.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Printf(format string, v ...any) {
	s.l.Debug("smtp: " + strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (s slogLogger) Println(v ...any) {
	s.l.Debug("smtp: " + strings.TrimSpace(fmt.Sprintln(v...)))
}
