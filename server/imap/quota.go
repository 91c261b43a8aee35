package imap

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

var errNoQuotaRoot = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "No such quota root"}

// QUOTA (RFC 9208): one quota root, "", for all of a user's mailboxes:
// the storage limit SMTP and APPEND already enforce (store.Limit), with
// the usage counted by the store, in KiB as STORAGE is counted. A user
// without a limit has the root with no resources.

// QuotaRoots answers GETQUOTAROOT: every mailbox is under "".
func (s *session) QuotaRoots(mailbox string) ([]string, error) {
	if _, err := s.acct.Mailbox(mailbox); err != nil {
		return nil, imapError(err)
	}
	return []string{""}, nil
}

// Quota answers GETQUOTA (and the QUOTA lines of GETQUOTAROOT).
func (s *session) Quota(root string) ([]imapserver.QuotaResource, error) {
	if root != "" {
		return nil, errNoQuotaRoot
	}
	limit := s.srv.opts.Store.Limit(s.acct.User())
	if limit <= 0 {
		return nil, nil
	}
	used, err := s.srv.opts.Store.Usage(s.acct.User())
	if err != nil {
		return nil, err
	}
	return []imapserver.QuotaResource{{Name: "STORAGE", Usage: (used + 1023) / 1024, Limit: limit / 1024}}, nil
}
