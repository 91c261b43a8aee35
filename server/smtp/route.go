package smtp

import (
	"strings"

	"github.com/sluicemail/sluice/server/auth"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/store"
	"golang.org/x/net/idna"
)

// Router maps addresses to the queue recipients mail for them goes to, as
// the MX does for the mail it accepts: an address at a local domain goes
// to the mailboxes it resolves to (and out, for an alias that forwards);
// any other address goes out through the relay. The server routes RCPT TO
// and redirects with it. serve gives Route to the queue for the DSNs
// sluice writes itself, so that a bounce to a local sender is delivered
// here instead of going out to the relay and coming back through the MX.
type Router struct {
	Domains  []string // local domains
	Accounts interface {
		Resolve(rcpt string) (users []string, ok bool)
	}
	// SRS reverses the SRS addresses we wrote when forwarding (nil: none
	// are accepted), so that a bounce to one finds the original sender.
	SRS Reverser
}

// IsLocal reports whether domain is one of ours.
func (r Router) IsLocal(domain string) bool {
	_, ok := r.Local(domain)
	return ok
}

// Local returns our domain as the configuration spells it, for domain
// written in any case and as a U-label or an A-label (RFC 5890: bücher.example
// and xn--bcher-kva.example are one domain), so that an internationalised
// address finds its account whichever form the sender used.
func (r Router) Local(domain string) (string, bool) {
	d := strings.TrimSuffix(domain, ".")
	ad := aLabel(d)
	for _, l := range r.Domains {
		l = strings.TrimSuffix(l, ".")
		if strings.EqualFold(l, d) || strings.EqualFold(aLabel(l), ad) {
			return l, true
		}
	}
	return "", false
}

// aLabel is domain in its ASCII form (RFC 5891 section 5), or domain
// itself if it is not a valid IDNA name.
func aLabel(domain string) string {
	if isASCII(domain) && !strings.Contains(strings.ToLower(domain), "xn--") {
		return domain
	}
	a, err := idna.Lookup.ToASCII(domain)
	if err != nil {
		return domain
	}
	return a
}

// Recipients turns resolved addresses into queue recipients: local users
// are delivered to their INBOX, anything else (an alias forwarding out) is
// relayed.
func (r Router) Recipients(users []string) []queue.Recipient {
	out := make([]queue.Recipient, 0, len(users))
	for _, u := range users {
		u = auth.Normalize(u)
		_, d, _ := splitAddress(u)
		if r.IsLocal(d) {
			out = append(out, queue.Recipient{Addr: u, Local: true, User: u, Mailbox: store.Inbox})
		} else {
			out = append(out, queue.Recipient{Addr: u})
		}
	}
	return out
}

// Route returns where mail to addr goes. It reports false for an address
// at a local domain that resolves to nobody: relaying it would only bring
// it back to the MX, to be refused there.
func (r Router) Route(addr string) ([]queue.Recipient, bool) {
	local, domain, ok := splitAddress(addr)
	if !ok {
		return nil, false
	}
	ours, isLocal := r.Local(domain)
	if !isLocal {
		return []queue.Recipient{{Addr: addr}}, true
	}
	if r.isSRS(addr) {
		rcpts, err := r.reverseSRS(addr)
		return rcpts, err == nil
	}
	users, found := r.Accounts.Resolve(local + "@" + ours)
	if !found {
		return nil, false
	}
	return r.Recipients(users), true
}
