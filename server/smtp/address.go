package smtp

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/queue"
)

// Replies for recipients that are refused.
var (
	errRelayDenied = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "Relay access denied"}
	errNoSuchUser  = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	errBadAddress  = &gosmtp.SMTPError{Code: 553, EnhancedCode: gosmtp.EnhancedCode{5, 1, 3}, Message: "Bad recipient address syntax"}
	errNeedUTF8    = &gosmtp.SMTPError{Code: 553, EnhancedCode: gosmtp.EnhancedCode{5, 6, 7}, Message: "Non-ASCII address requires SMTPUTF8"}
	// A server with no account at all has no mailbox for the postmaster
	// yet: the sender keeps the message and retries until one is added.
	errNoPostmaster = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "No mailbox for postmaster yet, try again later"}
)

// postmaster is the one address RFC 5321 lets a client write without a
// domain (section 4.1.1.3, any case); it means the postmaster of the
// primary domain, the first of the configured domains (section 4.5.1).
func (s *Server) postmaster(addr string) string {
	if strings.EqualFold(addr, "postmaster") {
		return "postmaster@" + s.opts.Domains[0]
	}
	return addr
}

// splitAddress splits at the last "@" (go-smtp has already removed any
// source route and the quotes of a quoted local part).
func splitAddress(addr string) (local, domain string, ok bool) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", "", false
	}
	return addr[:at], addr[at+1:], true
}

// routeChars are the characters of the old routing tricks: the percent
// hack, bang paths and a second "@" in a quoted local part. A local part
// holding one is refused whatever the domain, so that no later hop can
// turn it into relaying (RFC 5321 3.6.1 and Appendix C; Postfix
// allow_untrusted_routing = no).
const routeChars = "@%!"

// resolveRcpt decides where mail to addr goes: the local users (and
// outside forwards) it resolves to, or, for an authenticated sender only,
// the remote address itself. Everything else is an error reply; nothing
// that is refused ever reaches the queue.
func (s *Server) resolveRcpt(addr string, authenticated, utf8OK bool) ([]queue.Recipient, error) {
	local, domain, ok := splitAddress(addr)
	if !ok || len(local) > 64 || len(domain) > 255 || strings.ContainsAny(addr, " \t\r\n\x00<>") {
		return nil, errBadAddress
	}
	if !utf8.ValidString(addr) {
		return nil, errBadAddress
	}
	if !utf8OK && !isASCII(addr) {
		return nil, errNeedUTF8
	}
	if strings.HasPrefix(domain, "[") {
		// Address literals (RFC 5321 4.1.3) are refused outright: sluice
		// serves its domains by name, and a literal is a relay probe far
		// more often than real mail.
		return nil, errRelayDenied
	}
	if strings.ContainsAny(local, routeChars) {
		return nil, errRelayDenied
	}
	ours, isLocal := s.router.Local(domain)
	if !isLocal {
		if !authenticated || !validDomain(domain) {
			return nil, errRelayDenied
		}
		return []queue.Recipient{{Addr: local + "@" + strings.ToLower(strings.TrimSuffix(domain, "."))}}, nil
	}
	if s.router.isSRS(addr) {
		return nil, errIsSRS // the session decides, knowing the sender
	}
	if rcpts, ok := s.reportRcpt(addr); ok {
		return rcpts, nil
	}
	users, found := s.opts.Accounts.Resolve(local + "@" + ours)
	if !found && strings.EqualFold(local, "postmaster") {
		return nil, errNoPostmaster
	}
	if !found {
		return nil, errNoSuchUser
	}
	return s.router.Recipients(users), nil
}

// validDomain accepts a host name with at least one dot; IP literals and
// bare names are not destinations for relayed mail.
func validDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	if !strings.Contains(d, ".") || strings.ContainsAny(d, "[]:/\\@%!\"") {
		return false
	}
	if _, err := netip.ParseAddr(d); err == nil {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
