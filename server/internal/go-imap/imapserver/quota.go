package imapserver

// sluice: this file is not in go-imap v2.0.0-beta.8; see README.md.

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// QuotaResource is one resource of a quota root (RFC 9208 section 5):
// for STORAGE, usage and limit are in units of 1024 octets.
type QuotaResource struct {
	Name         string
	Usage, Limit int64
}

// SessionQuota is a session that answers GETQUOTA and GETQUOTAROOT (RFC
// 9208); SETQUOTA is refused. The server must advertise imap.CapQuota.
type SessionQuota interface {
	// QuotaRoots returns the quota roots of a mailbox.
	QuotaRoots(mailbox string) ([]string, error)
	// Quota returns the resources of a quota root.
	Quota(root string) ([]QuotaResource, error)
}

func (c *Conn) handleQuota(name string, dec *imapwire.Decoder) error {
	session, ok := c.session.(SessionQuota)
	if !ok || !c.server.options.caps().Has(imap.CapQuota) {
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unknown command"}
	}
	var arg string
	if !dec.ExpectSP() {
		return dec.Err()
	}
	if name == "GETQUOTAROOT" {
		if !dec.ExpectMailbox(&arg) {
			return dec.Err()
		}
	} else if !dec.ExpectAString(&arg) {
		return dec.Err()
	}
	if name == "SETQUOTA" { // the rest of the line is discarded by readCommand
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNoPerm, Text: "Quotas are set by the administrator"}
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	roots := []string{arg}
	if name == "GETQUOTAROOT" {
		var err error
		if roots, err = session.QuotaRoots(arg); err != nil {
			return err
		}
		enc := newResponseEncoder(c)
		enc.Atom("*").SP().Atom("QUOTAROOT").SP().Mailbox(arg)
		for _, r := range roots {
			enc.SP().String(r)
		}
		err = enc.CRLF()
		enc.end()
		if err != nil {
			return err
		}
	}
	for _, root := range roots {
		res, err := session.Quota(root)
		if err != nil {
			return err
		}
		enc := newResponseEncoder(c)
		enc.Atom("*").SP().Atom("QUOTA").SP().String(root).SP()
		enc.List(len(res), func(i int) {
			enc.Atom(strings.ToUpper(res[i].Name)).SP().Number64(res[i].Usage).SP().Number64(res[i].Limit)
		})
		err = enc.CRLF()
		enc.end()
		if err != nil {
			return err
		}
	}
	return nil
}
