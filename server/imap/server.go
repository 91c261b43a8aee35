// Package imap serves users' mailboxes over IMAP4rev1 (RFC 3501) with
// the extensions mail clients use: IDLE (RFC 2177), MOVE (RFC 6851),
// UIDPLUS (RFC 4315), SPECIAL-USE (RFC 6154), NAMESPACE (RFC 2342),
// UNSELECT (RFC 3691), ENABLE (RFC 5161), LIST-EXTENDED and LIST-STATUS
// (RFC 5258, RFC 5819), STATUS=SIZE (RFC 8438), ESEARCH (RFC 4731),
// BINARY (RFC 3516), CHILDREN (RFC 3348), LITERAL+ (RFC 7888), ID
// (RFC 2971), SORT with SORT=DISPLAY and ESORT (RFC 5256, 5957, 5267)
// THREAD=REFERENCES and ORDEREDSUBJECT (RFC 5256), MULTIAPPEND (RFC
// 3502), QUOTA (RFC 9208) and NOTIFY (RFC 5465). It is a
// github.com/emersion/go-imap/v2 imapserver backend over server/store:
// the Maildir holds the messages and flags, the store's index the UIDs.
//
// Passwords are only accepted over TLS (STARTTLS on the plain listener,
// or the implicit-TLS listener); failed logins are limited per IP.
package imap

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/sluicemail/sluice/server/store"
)

// Authenticator checks a user's password; server/auth.Accounts is one.
// It returns a non-nil error for an unknown user or a wrong password.
type Authenticator interface {
	Authenticate(user, pass string) error
}

// Options configures a Server. Store and Auth are required; TLSConfig is
// required for anyone to log in (there is no plaintext authentication).
type Options struct {
	Store     *store.Store
	Auth      Authenticator
	TLSConfig *tls.Config
	Logger    *slog.Logger // default slog.Default()

	// MaxLoginFailures failed logins for one account from one IP within
	// FailureWindow lock that account out from that IP until the window
	// has passed, and five times as many for any accounts lock the IP
	// out; defaults 10 and 15 minutes.
	MaxLoginFailures int
	FailureWindow    time.Duration

	// AppendLimit is the largest message APPEND accepts; default 64 MiB.
	AppendLimit uint32

	// Debug, if set, receives the raw protocol (including passwords).
	Debug io.Writer

	// Metrics counts sessions, commands and logins; default a new one
	// (Server.Metrics returns it).
	Metrics *Metrics
}

// Server is an IMAP server over the mailbox store.
type Server struct {
	opts    Options
	log     *slog.Logger
	imap    *imapserver.Server
	limiter *limiter
	track   tracker       // for a graceful Shutdown (drain.go)
	events  mailboxEvents // for NOTIFY (mailboxevents.go)
}

// New builds a Server; call Serve or ServeTLS for each listener.
func New(opts Options) (*Server, error) {
	if opts.Store == nil || opts.Auth == nil {
		return nil, errors.New("imap: Options.Store and Options.Auth are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxLoginFailures <= 0 {
		opts.MaxLoginFailures = 10
	}
	if opts.FailureWindow <= 0 {
		opts.FailureWindow = 15 * time.Minute
	}
	if opts.AppendLimit == 0 {
		opts.AppendLimit = 64 << 20
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	s := &Server{opts: opts, log: opts.Logger, limiter: newLimiter(opts.MaxLoginFailures, opts.FailureWindow)}
	s.imap = imapserver.New(&imapserver.Options{
		NewSession: s.newSession,
		Caps: imap.CapSet{
			imap.CapIMAP4rev1:             {},
			imap.CapNamespace:             {},
			imap.CapUIDPlus:               {},
			imap.CapESearch:               {},
			imap.CapListExtended:          {},
			imap.CapListStatus:            {},
			imap.CapMove:                  {},
			imap.CapStatusSize:            {},
			imap.CapBinary:                {},
			imap.CapChildren:              {},
			imap.CapSpecialUse:            {},
			imap.CapLiteralPlus:           {},
			imap.CapID:                    {},
			imap.CapSort:                  {},
			imap.CapSortDisplay:           {},
			imap.CapESort:                 {},
			imap.CapMultiAppend:           {},
			imap.CapQuota:                 {},
			imap.CapCondStore:             {},
			imap.CapQResync:               {},
			imap.Cap("CONTEXT=SEARCH"):    {},
			imap.CapCatenate:              {},
			imap.CapNotify:                {},
			imap.Cap("QUOTA=RES-STORAGE"): {},
			imap.Cap("THREAD=" + imap.ThreadReferences):     {},
			imap.Cap("THREAD=" + imap.ThreadOrderedSubject): {},
		},
		Logger:      slogLogger{opts.Logger},
		TLSConfig:   opts.TLSConfig,
		DebugWriter: opts.Debug,
		CommandDone: opts.Metrics.command,
	})
	return s, nil
}

// Serve accepts plain connections on ln (the "imap" listener, port 143):
// clients must STARTTLS before they can log in.
func (s *Server) Serve(ln net.Listener) error { return s.imap.Serve(s.track.listen(ln)) }

// ServeTLS accepts implicit-TLS connections on ln (the "imaps" listener,
// port 993), wrapping it with Options.TLSConfig.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.opts.TLSConfig == nil {
		return errors.New("imap: ServeTLS needs Options.TLSConfig")
	}
	return s.imap.Serve(tls.NewListener(s.track.listen(ln), s.opts.TLSConfig))
}

// Close stops the listeners and closes every connection.
func (s *Server) Close() error { return s.imap.Close() }

func (s *Server) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	s.track.started(c)
	s.opts.Metrics.started()
	ip := ""
	if addr := c.NetConn().RemoteAddr(); addr != nil {
		ip = addr.String()
		if host, _, err := net.SplitHostPort(ip); err == nil {
			ip = host
		}
	}
	return &idleGuard{session: &session{srv: s, conn: c, ip: ip}}, &imapserver.GreetingData{}, nil
}

// slogLogger passes go-imap's log lines to slog.
type slogLogger struct{ l *slog.Logger }

func (l slogLogger) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if strings.Contains(msg, "use of closed network connection") {
		return
	}
	l.l.Warn("imap: " + msg)
}
