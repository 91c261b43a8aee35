package imap

import (
	"errors"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/sluicemail/sluice/server/store"
)

// session is one IMAP connection.
type session struct {
	srv  *Server
	conn *imapserver.Conn
	ip   string

	acct *store.Account

	// The selected mailbox, if any.
	mbox     *store.Mailbox
	tracker  *imapserver.SessionTracker
	readOnly bool
	recent   imap.UIDSet     // the messages that are \Recent in this session (recent.go)
	keywords map[string]bool // the keywords the client was told of (keywords.go)
	live     []*liveSearch   // searches with RETURN (UPDATE) (context.go)
	liveAt   searchState     // the mailbox when they were last run
	ntf      *notifyState    // what NOTIFY SET asked for (notify.go)
	newFrom  uint32          // first UID of the selected mailbox not yet sent for MessageNew
}

var (
	_ imapserver.Session            = (*session)(nil)
	_ imapserver.SessionMove        = (*session)(nil)
	_ imapserver.SessionNamespace   = (*session)(nil)
	_ imapserver.SessionAppendLimit = (*session)(nil)
	_ imapserver.SessionID          = (*session)(nil)
	_ imapserver.SessionSort        = (*session)(nil)
	_ imapserver.SessionThread      = (*session)(nil)
	_ imapserver.SessionMultiAppend = (*session)(nil)
	_ imapserver.SessionQuota       = (*session)(nil)
)

// Login checks the password (go-imap calls it for LOGIN and AUTHENTICATE
// PLAIN, only over TLS) and opens the user's mail.
func (s *session) Login(username, password string) error {
	user := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(username)), ".")
	if s.srv.limiter.blocked(s.ip, user) {
		s.srv.log.Warn("imap: login refused, too many failures", "ip", s.ip, "user", user)
		s.srv.opts.Metrics.login(loginRefused)
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable,
			Text: "Too many failed logins, try again later"}
	}
	if err := s.srv.opts.Auth.Authenticate(user, password); err != nil {
		s.srv.limiter.fail(s.ip, user)
		s.srv.opts.Metrics.login(loginFailed)
		s.srv.log.Info("imap: login failed", "ip", s.ip, "user", user)
		return imapserver.ErrAuthFailed
	}
	acct, err := s.srv.opts.Store.Account(user)
	if err != nil {
		s.srv.log.Error("imap: opening mailboxes", "user", user, "err", err)
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable,
			Text: "Mailbox store unavailable"}
	}
	s.acct = acct
	s.srv.opts.Metrics.login(loginOK)
	s.srv.log.Info("imap: login", "ip", s.ip, "user", user)
	return nil
}

// Close releases the selected mailbox.
func (s *session) Close() error {
	if s.tracker != nil {
		s.tracker.Close()
		s.tracker, s.mbox, s.recent, s.keywords, s.live = nil, nil, nil, nil, nil
	}
	return nil
}

// Namespace answers NAMESPACE: one personal namespace, "." delimited.
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: store.Delim}}}, nil
}

// ID answers the ID command (RFC 2971), before or after login: the
// server's name only (no version, which would only help an attacker),
// and the client's name and version go to the debug log.
func (s *session) ID(client *imap.IDData) *imap.IDData {
	if client != nil {
		s.srv.log.Debug("imap: client id", "ip", s.ip, "name", client.Name, "version", client.Version)
	}
	return &imap.IDData{Name: "sluice"}
}

// AppendLimit is advertised as APPENDLIMIT.
func (s *session) AppendLimit() uint32 { return s.srv.opts.AppendLimit }

// imapError turns a store error into the IMAP answer a client can act on.
func imapError(err error) error {
	var qe *store.QuotaError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &qe):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "Over quota"}
	case errors.Is(err, store.ErrNoMailbox), errors.Is(err, store.ErrGone):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "No such mailbox"}
	case errors.Is(err, store.ErrBadName):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Invalid mailbox name"}
	case errors.Is(err, store.ErrExists):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists"}
	case errors.Is(err, store.ErrInbox):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Not allowed on INBOX"}
	}
	return err
}

// tryCreate is the answer for COPY, MOVE and APPEND to a missing mailbox.
func tryCreate(err error) error {
	if errors.Is(err, store.ErrNoMailbox) {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"}
	}
	return imapError(err)
}

var errReadOnly = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
	Text: "Mailbox is read-only (EXAMINE)"}
