package auth

import (
	"sort"
	"strings"
)

// maxAliasDepth bounds alias chains (and breaks loops).
const maxAliasDepth = 8

// Resolve maps a recipient address to the addresses mail for it goes to:
// the account itself; or an alias's targets, expanded recursively (a target
// may be an outside address, which makes the alias a forward); or, for
// "user+tag@domain", what "user@domain" resolves to; or the domain's
// catch-all ("@domain"). postmaster@domain always resolves (RFC 5321 4.5.1):
// without an account or alias of its own it goes to the domain's first
// account. ok is false when nothing matches; the caller decides whether the
// domain is local.
func (a *Accounts) Resolve(rcpt string) (users []string, ok bool) {
	f := a.snapshot()
	seen := map[string]bool{}
	var out []string
	if !f.expand(Normalize(rcpt), 0, seen, &out) {
		return nil, false
	}
	return out, len(out) > 0
}

// expand appends what addr resolves to; it reports whether addr matched.
func (f *file) expand(addr string, depth int, seen map[string]bool, out *[]string) bool {
	if depth > maxAliasDepth || seen[addr] {
		return depth > 0 // a loop or a too deep chain ends here quietly
	}
	seen[addr] = true
	local, domain, found := strings.Cut(addr, "@")
	if !found || strings.Contains(domain, "@") {
		return false
	}
	if _, isUser := f.Users[addr]; isUser {
		*out = append(*out, addr)
		return true
	}
	if targets, isAlias := f.Aliases[addr]; isAlias {
		for _, t := range targets {
			t = Normalize(t)
			if !f.expand(t, depth+1, seen, out) {
				*out = append(*out, t) // an outside address: forward
			}
		}
		return true
	}
	if base, _, plus := strings.Cut(local, "+"); plus && base != "" {
		if f.expand(base+"@"+domain, depth, seen, out) {
			return true
		}
	}
	if targets, catchAll := f.Aliases["@"+domain]; catchAll && depth == 0 {
		for _, t := range targets {
			t = Normalize(t)
			if !f.expand(t, depth+1, seen, out) {
				*out = append(*out, t)
			}
		}
		return true
	}
	if local == "postmaster" {
		if u := f.firstUser(domain); u != "" {
			*out = append(*out, u)
			return true
		}
	}
	return false
}

// firstUser returns the first account (by name) of domain, or of any
// domain when it has none.
func (f *file) firstUser(domain string) string {
	var all []string
	for u := range f.Users {
		all = append(all, u)
	}
	sort.Strings(all)
	for _, u := range all {
		if strings.HasSuffix(u, "@"+domain) {
			return u
		}
	}
	if len(all) > 0 {
		return all[0]
	}
	return ""
}

// Owns reports whether user may send as addr: addr is the account itself
// (with or without a +tag), or an alias (not a catch-all) that resolves to
// the account.
func (a *Accounts) Owns(user, addr string) bool {
	user, addr = Normalize(user), Normalize(addr)
	if addr == user {
		return true
	}
	local, domain, _ := strings.Cut(addr, "@")
	if base, _, plus := strings.Cut(local, "+"); plus && base+"@"+domain == user {
		return true
	}
	f := a.snapshot()
	if _, isAlias := f.Aliases[addr]; !isAlias {
		return false
	}
	var out []string
	f.expand(addr, 0, map[string]bool{}, &out)
	for _, u := range out {
		if u == user {
			return true
		}
	}
	return false
}
