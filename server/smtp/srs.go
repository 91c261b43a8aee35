package smtp

import (
	"errors"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/srs"
)

// Bounces to SRS addresses: an address at one of our domains whose local
// part is SRS0=... or SRS1=... is one we wrote when forwarding; mail to it
// is a bounce (or an auto-reply) for the original sender, and goes back to
// the address the SRS one stands for, with the null sender kept. A forged
// or expired one, or a non-null sender, is refused at RCPT, so that the
// SRS domain cannot be used to relay.

// Reverser turns SRS addresses back (*srs.Rewriter).
type Reverser interface {
	Reverse(addr string) (string, error)
}

// Replies for SRS addresses that are refused.
var (
	errSRSInvalid = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1},
		Message: "Invalid or expired SRS address"}
	errSRSSender = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1},
		Message: "SRS addresses accept only bounces (MAIL FROM:<>)"}
	// errIsSRS is resolveRcpt's answer for an SRS address of ours.
	errIsSRS = errors.New("smtp: SRS address")
)

// isSRS reports whether addr is an SRS address at a local domain, to be
// reversed instead of resolved.
func (r Router) isSRS(addr string) bool {
	local, domain, ok := splitAddress(addr)
	return ok && r.SRS != nil && r.IsLocal(domain) && srs.IsSRS(local)
}

// reverseSRS returns where a bounce to the SRS address addr goes: the
// address it stands for, delivered here if that is ours (and resolves),
// else relayed.
func (r Router) reverseSRS(addr string) ([]queue.Recipient, error) {
	orig, err := r.SRS.Reverse(addr)
	if err != nil {
		return nil, err
	}
	local, domain, ok := splitAddress(orig)
	if !ok {
		return nil, errors.New("srs: reversed address has no domain")
	}
	ours, isLocal := r.Local(domain)
	if !isLocal {
		return []queue.Recipient{{Addr: orig}}, nil
	}
	users, found := r.Accounts.Resolve(local + "@" + ours)
	if !found {
		return nil, errors.New("srs: reversed address is not a local mailbox")
	}
	return r.Recipients(users), nil
}

// srsRcpt decides a RCPT TO an SRS address of ours: the recipients it
// stands for, or the refusal.
func (s *session) srsRcpt(addr string) ([]queue.Recipient, error) {
	if s.from != "" {
		return nil, errSRSSender
	}
	rcpts, err := s.srv.router.reverseSRS(addr)
	if err != nil {
		s.srv.log.Info("SRS address refused", "session", s.id, "ip", s.ip.String(), "rcpt", addr, "err", err)
		return nil, errSRSInvalid
	}
	return rcpts, nil
}

// newRouter is the server's router: its domains and accounts, and the SRS
// of its forwarder.
func newRouter(opts Options) Router {
	r := Router{Domains: opts.Domains, Accounts: opts.Accounts}
	if opts.Forward != nil && opts.Forward.SRS != nil {
		r.SRS = opts.Forward.SRS
	}
	return r
}
