package migrate

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
)

// accessKind is what an access map looks up: the client, the HELO name,
// the sender or each recipient.
type accessKind string

const (
	kindClient    accessKind = "client"
	kindHELO      accessKind = "helo"
	kindSender    accessKind = "sender"
	kindRecipient accessKind = "recipient"
)

// field says which value of the message a matcher reads: for the client,
// its IP address or its reverse DNS names.
type field int

const (
	fieldValue field = iota // the kind's one value (HELO, sender, a recipient)
	fieldIP
	fieldNames
	fieldIPAndNames
)

// matcher is one test against the kind's value, written as an expression
// over v.
type matcher struct {
	field field
	pred  func(v string) string
}

// expr writes m over the values of kind.
func (m matcher) expr(kind accessKind) string {
	switch kind {
	case kindHELO:
		return m.pred("conn.helo")
	case kindSender:
		return m.pred("envelope.mail_from")
	case kindRecipient:
		return "any(envelope.rcpt, {" + m.pred("#") + "})"
	}
	ip, names := m.pred("conn.ip"), "any(rdns.names, {"+m.pred("#")+"})"
	switch m.field {
	case fieldIP:
		return ip
	case fieldNames:
		return names
	}
	return "(" + ip + " or " + names + ")"
}

// accessGroup is the entries of one map that share a specificity and an
// action: one list and one rule. Groups are checked most specific first,
// as Postfix looks up the full address before the domain, a subdomain
// before its parent, the IP address before its networks.
type accessGroup struct {
	tier    int
	field   field
	action  PostfixAction
	entries []AccessEntry
	values  []string
}

// accessMap turns one access table into lists, rules and tests.
type accessMap struct {
	g      *GenRules
	kind   accessKind
	name   string // the table file's base name
	where  string // "check_sender_access in smtpd_recipient_restrictions (main.cf:31)"
	prefix string // names of generated lists and rules
}

func (a *accessMap) src(line int) string { return fmt.Sprintf("%s:%d", a.name, line) }

// addHashTable translates an access(5) table: most specific key first.
func (a *accessMap) addHashTable(entries []AccessEntry, cidr bool) {
	groups := map[string]*accessGroup{}
	var order []*accessGroup
	for i, e := range entries {
		act, err := parseAction(e.Action, false)
		if err != nil {
			a.g.note(a.src(e.Line), e.Key+" "+e.Action, err.Error())
			continue
		}
		value, tier, f, why := a.key(e.Key, cidr)
		if why != "" {
			a.g.note(a.src(e.Line), e.Key+" "+e.Action, why)
			continue
		}
		if cidr {
			tier = -i // cidr tables: first match in file order
			if n := len(order); n > 0 && order[n-1].action == act && order[n-1].field == f {
				tier = order[n-1].tier
			}
		}
		k := fmt.Sprintf("%d/%d/%+v", tier, f, act)
		grp := groups[k]
		if grp == nil {
			grp = &accessGroup{tier: tier, field: f, action: act}
			groups[k] = grp
			order = append(order, grp)
		}
		grp.entries = append(grp.entries, e)
		grp.values = append(grp.values, value)
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].tier > order[j].tier })
	var except []matcher
	var ruleNames []string
	for i, grp := range order {
		list := fmt.Sprintf("%s_%d", strings.ReplaceAll(a.prefix, "-", "_"), i+1)
		gl := GenList{Name: list, Comment: fmt.Sprintf("%s, %s: %s", a.name, a.where, grp.entries[0].Action)}
		var srcs []string
		for j, e := range grp.entries {
			gl.Entries = append(gl.Entries, GenEntry{grp.values[j], a.src(e.Line)})
			srcs = append(srcs, a.src(e.Line))
		}
		a.g.Lists = append(a.g.Lists, gl)
		m := matcher{field: grp.field, pred: func(v string) string { return fmt.Sprintf("in_list(%q, %s)", list, v) }}
		if grp.action.Kind == ActDunno {
			except = append(except, m)
			continue
		}
		name := fmt.Sprintf("%s-%d", a.prefix, i+1)
		a.addRule(name, strings.Join(srcs, ", "), m, except, grp.action)
		ruleNames = append(ruleNames, name)
		for _, e := range grp.entries {
			a.addTest(e, name, grp.action, nil)
		}
	}
	for _, grp := range order {
		if grp.action.Kind == ActDunno {
			for _, e := range grp.entries {
				a.addTest(e, "", grp.action, ruleNames)
			}
		}
	}
}

// addRegexpTable translates a regexp_table(5) or pcre_table(5) access
// map: first match in file order, one rule per entry.
func (a *accessMap) addRegexpTable(entries []RegexpEntry, pcre bool) {
	var except []matcher
	var ruleNames []string
	type dunno struct {
		e  RegexpEntry
		re *regexp.Regexp
	}
	var dunnos []dunno
	for _, e := range entries {
		text := fmt.Sprintf("/%s/%s %s", e.Pattern, e.Flags, e.Action)
		act, err := parseAction(e.Action, false)
		if err != nil {
			a.g.note(a.src(e.Line), text, err.Error())
			continue
		}
		if e.Negate {
			a.g.note(a.src(e.Line), "!"+text, "a negated pattern: write the rule with not")
			continue
		}
		re, err := compilePostfixRegexp(e, pcre)
		if err != nil {
			a.g.note(a.src(e.Line), text, err.Error())
			continue
		}
		m := matcher{field: fieldIPAndNames, pred: func(v string) string { return fmt.Sprintf("%s matches %s", v, q(re.String())) }}
		if act.Kind == ActDunno {
			except = append(except, m)
			dunnos = append(dunnos, dunno{e, re})
			continue
		}
		name := fmt.Sprintf("%s-%d", a.prefix, e.Line)
		a.addRule(name, a.src(e.Line), m, except, act)
		ruleNames = append(ruleNames, name)
		if ex, ok := exampleMatch(re); ok {
			a.addTest(AccessEntry{Line: e.Line, Key: ex, Action: e.Action}, name, act, nil)
		}
	}
	for _, d := range dunnos {
		if ex, ok := exampleMatch(d.re); ok {
			a.addTest(AccessEntry{Line: d.e.Line, Key: ex, Action: d.e.Action}, "", PostfixAction{Kind: ActDunno}, ruleNames)
		}
	}
}

func (a *accessMap) addRule(name, srcs string, m matcher, except []matcher, act PostfixAction) {
	when := m.expr(a.kind)
	for _, x := range except {
		when += " and not " + x.expr(a.kind)
	}
	a.g.Rules = append(a.g.Rules, GenRule{
		Comment: fmt.Sprintf("%s (%s)", srcs, a.where),
		Name:    name, When: when, Action: act.Rule(),
	})
}

// addTest writes a test whose envelope carries the entry's key.
func (a *accessMap) addTest(e AccessEntry, rule string, act PostfixAction, notRules []string) {
	t := GenTest{Name: fmt.Sprintf("%s: %s %s", a.src(e.Line), e.Key, e.Action), Raw: testMessage("", ""),
		IP: testIP, HELO: testHELO, From: testFrom, To: []string{testRcpt}}
	key := strings.TrimPrefix(strings.ToLower(e.Key), ".")
	if strings.HasPrefix(e.Key, ".") {
		key = "mail." + key
	}
	addr := key
	if !strings.Contains(addr, "@") {
		addr = "test@" + key
	}
	switch a.kind {
	case kindClient:
		p, err := netip.ParsePrefix(clientPrefix(e.Key))
		if err != nil {
			return // a host name: the test would need DNS
		}
		t.IP = hostIn(p).String()
	case kindHELO:
		t.HELO = key
	case kindSender:
		t.From = addr
	case kindRecipient:
		t.To = []string{addr}
	}
	t.Action = act.Kind
	switch act.Kind {
	case ActDunno:
		t.Action, t.NotRules = ActAccept, notRules
		if len(notRules) == 0 {
			return
		}
	case ActReject, ActTempfail:
		t.Reply = act.Reply()
	}
	if rule != "" {
		t.Rules = []string{rule}
	}
	a.g.Tests = append(a.g.Tests, t)
}

// key reads one access table key: the list entry, its specificity and
// which client value it matches.
func (a *accessMap) key(k string, cidr bool) (value string, tier int, f field, why string) {
	k = strings.ToLower(k)
	if a.kind == kindClient || cidr {
		if p, err := netip.ParsePrefix(clientPrefix(k)); err == nil {
			return p.Masked().String(), p.Bits(), fieldIP, ""
		}
		if cidr {
			return "", 0, 0, "not an address or network"
		}
	}
	switch {
	case k == "<>" || k == "":
		return "", 0, 0, "the null sender key (smtpd_null_access_lookup_key): write a rule on envelope.mail_from == \"\""
	case strings.HasSuffix(k, "@"):
		return "", 0, 0, "a local-part key: write a rule on envelope.mail_from startsWith \"" + k + "\""
	case strings.Contains(k, "@"):
		if a.kind == kindClient || a.kind == kindHELO {
			return "", 0, 0, "an address key in a " + string(a.kind) + " map"
		}
		return k, 1000, fieldValue, ""
	case strings.ContainsAny(k, " \t,;/[]:"):
		return "", 0, 0, "not a domain, address or network"
	}
	f = fieldValue
	if a.kind == kindClient {
		f = fieldNames
	}
	d := strings.TrimPrefix(k, ".")
	return "." + d, 500 + strings.Count(d, ".") + 1, f, ""
}

// clientPrefix reads a client key as a network: an address, a CIDR, or
// an access(5) partial IPv4 address ("192.168" is 192.168.0.0/16).
func clientPrefix(k string) string {
	k = strings.Trim(k, "[]")
	if _, err := netip.ParsePrefix(k); err == nil {
		return k
	}
	if ip, err := netip.ParseAddr(k); err == nil {
		return netip.PrefixFrom(ip, ip.BitLen()).String()
	}
	parts := strings.Split(k, ".")
	if len(parts) < 1 || len(parts) > 3 {
		return k
	}
	for _, p := range parts {
		if !isDigits(p) || len(p) > 3 {
			return k
		}
	}
	for len(parts) < 4 {
		parts = append(parts, "0")
	}
	return strings.Join(parts, ".") + fmt.Sprintf("/%d", 8*strings.Count(k, ".")+8)
}

// hostIn picks an address inside p for a test: the first after the
// network address when there is one.
func hostIn(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr()
	if n := a.Next(); n.IsValid() && p.Contains(n) {
		return n
	}
	return a
}
