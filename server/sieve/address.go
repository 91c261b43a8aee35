package sieve

import (
	"net/mail"
	"strings"
)

// The address and envelope tests (RFC 5228 sections 5.1 and 5.4) with
// the address parts :all, :localpart, :domain, and :user and :detail of
// subaddress (RFC 5233).

var addrPartTags = []tagSpec{
	{name: "all", group: "part"},
	{name: "localpart", group: "part"},
	{name: "domain", group: "part"},
	{name: "user", ext: "subaddress", group: "part"},
	{name: "detail", ext: "subaddress", group: "part"},
}

// detailSep separates the user from the detail, as Dovecot's default.
const detailSep = "+"

type addressTest struct {
	m        matcher
	part     string
	names    []string
	keys     []string
	envelope bool
}

func (t *addressTest) eval(r *run) (bool, error) {
	var values []string
	for _, n := range r.expandList(t.names) {
		var addrs []string
		if t.envelope {
			addrs = r.envelopeAddrs(n)
		} else {
			for _, v := range r.env.Msg.rawHeaderValues(n) {
				addrs = append(addrs, parseAddrs(v)...)
			}
		}
		for _, a := range addrs {
			if v, ok := addressPart(a, t.part); ok {
				values = append(values, v)
			}
		}
	}
	return r.match(t.m, values, t.keys), nil
}

func (r *run) envelopeAddrs(part string) []string {
	switch strings.ToLower(part) {
	case "from":
		return []string{r.env.Envelope.From}
	case "to":
		return []string{r.env.Envelope.To}
	}
	return nil
}

// parseAddrs returns the bare addresses of a header value; what does
// not parse is kept whole, so that :all can still look at it.
func parseAddrs(v string) []string {
	if list, err := mail.ParseAddressList(v); err == nil {
		out := make([]string, 0, len(list))
		for _, a := range list {
			out = append(out, a.Address)
		}
		return out
	}
	var out []string
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if a, err := mail.ParseAddress(f); err == nil {
			out = append(out, a.Address)
		} else {
			out = append(out, f)
		}
	}
	return out
}

// addressPart returns one part of a bare address; ok is false when the
// part does not exist (a detail without separator).
func addressPart(addr, part string) (string, bool) {
	local, domain := addr, ""
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		local, domain = addr[:at], addr[at+1:]
	}
	switch part {
	case "localpart":
		return local, true
	case "domain":
		return domain, true
	case "user":
		if i := strings.Index(local, detailSep); i >= 0 {
			return local[:i], true
		}
		return local, true
	case "detail":
		if i := strings.Index(local, detailSep); i >= 0 {
			return local[i+len(detailSep):], true
		}
		return "", false
	}
	return addr, true
}

func buildAddress(envelope bool) func(c *compiler, b *bound) (test, error) {
	return func(c *compiler, b *bound) (test, error) {
		m, err := c.matcher(b)
		if err != nil {
			return nil, err
		}
		t := &addressTest{m: m, part: b.group["part"], names: b.args[0].Strs, keys: b.args[1].Strs, envelope: envelope}
		if !envelope {
			return t, checkHeaderNames(c, b.args[0])
		}
		for _, n := range t.names {
			switch strings.ToLower(n) {
			case "from", "to":
			default:
				if !c.has("variables") || !strings.Contains(n, "${") {
					return nil, errorf(b.args[0].Pos, "envelope: unknown envelope part '%s'", n)
				}
			}
		}
		return t, nil
	}
}

func init() {
	args := argSpec{tags: append(append([]tagSpec{}, matchTags...), addrPartTags...), pos: []valKind{valStrings, valStrings}}
	tests["address"] = testSpec{args: args, build: buildAddress(false)}
	tests["envelope"] = testSpec{ext: "envelope", args: args, build: buildAddress(true)}
}
