package migrate

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// The scores SpamAssassin gives its USER_IN_WHITELIST and
// USER_IN_BLACKLIST rules, kept so that a sender on the old lists weighs
// as much as it did.
const (
	saWelcomeScore = -100
	saBlockScore   = 100
	saDefaultScore = 5.0 // required_score when local.cf does not set it
)

// saLine is one setting of local.cf and where it is.
type saLine struct {
	line  int
	key   string
	words []string
}

// saPatterns collects the addresses of one list setting in order,
// unwhitelist_from removing what an earlier line added.
type saPatterns struct {
	entries []saEntry
}

type saEntry struct {
	pattern string
	src     string
	relay   string // whitelist_from_rcvd: the relay's domain
}

func (p *saPatterns) add(pattern, src, relay string) {
	p.entries = append(p.entries, saEntry{strings.ToLower(pattern), src, relay})
}

func (p *saPatterns) remove(pattern string) bool {
	n := len(p.entries)
	p.entries = slicesDelete(p.entries, func(e saEntry) bool { return e.pattern == strings.ToLower(pattern) })
	return len(p.entries) < n
}

func slicesDelete(s []saEntry, del func(saEntry) bool) []saEntry {
	out := s[:0]
	for _, e := range s {
		if !del(e) {
			out = append(out, e)
		}
	}
	return out
}

// TranslateSpamAssassin turns a SpamAssassin local.cf into a sluice rule
// file with its tests: whitelist_from and blacklist_from (and their
// welcomelist/blocklist names) as lists and rules worth SpamAssassin's
// -100 and +100, whitelist_auth as the same bonus when SPF or DKIM
// vouches for the sender, whitelist_from_rcvd on the relay's reverse DNS,
// required_score as the score at which a message goes to Junk, and
// trusted_networks as a list. name is the file's name in source
// references. Every other setting is listed in Untranslated.
func TranslateSpamAssassin(r io.Reader, name string) (*GenRules, error) {
	g := &GenRules{}
	welcome, block, auth, rcvd := &saPatterns{}, &saPatterns{}, &saPatterns{}, &saPatterns{}
	required, requiredSrc := saDefaultScore, ""
	var trusted GenList
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	n := 0
	for sc.Scan() {
		n++
		text := strings.TrimSpace(strings.TrimRight(sc.Text(), "\r"))
		if i := strings.Index(text, "#"); i >= 0 && (i == 0 || text[i-1] != '\\') {
			text = strings.TrimSpace(text[:i])
		}
		if text == "" {
			continue
		}
		f := strings.Fields(text)
		l := saLine{n, strings.ToLower(f[0]), f[1:]}
		src := fmt.Sprintf("%s:%d", name, n)
		switch l.key {
		case "whitelist_from", "welcomelist_from":
			for _, w := range l.words {
				welcome.add(w, src, "")
			}
		case "blacklist_from", "blocklist_from":
			for _, w := range l.words {
				block.add(w, src, "")
			}
		case "whitelist_auth", "welcomelist_auth", "def_whitelist_auth", "def_welcomelist_auth":
			for _, w := range l.words {
				auth.add(w, src, "")
			}
		case "whitelist_from_rcvd", "welcomelist_from_rcvd", "def_whitelist_from_rcvd", "def_welcomelist_from_rcvd":
			if len(l.words) != 2 {
				g.note(src, text, "want an address and a relay domain")
				continue
			}
			rcvd.add(l.words[0], src, strings.ToLower(strings.TrimPrefix(l.words[1], ".")))
		case "unwhitelist_from", "unwelcomelist_from", "unblacklist_from", "unblocklist_from", "unwhitelist_auth", "unwelcomelist_auth", "unwhitelist_from_rcvd", "unwelcomelist_from_rcvd":
			target := map[string]*saPatterns{"from": welcome, "auth": auth, "rcvd": rcvd}[l.key[strings.LastIndex(l.key, "_")+1:]]
			if strings.HasPrefix(l.key, "unbl") {
				target = block
			}
			for _, w := range l.words {
				if !target.remove(w) {
					g.note(src, text, w+" was not on the list before this line")
				}
			}
		case "required_score", "required_hits":
			v, err := strconv.ParseFloat(strings.Join(l.words, ""), 64)
			if err != nil || len(l.words) != 1 {
				g.note(src, text, "not a number")
				continue
			}
			required, requiredSrc = v, src
		case "trusted_networks", "internal_networks":
			if trusted.Name == "" {
				trusted = GenList{Name: "spamassassin_" + l.key, Comment: l.key + ": SpamAssassin trusted the Received lines these relays added. " +
					"sluice sees the connecting client itself; use the list in your rules, e.g. in_list(\"spamassassin_" + l.key + "\", conn.ip)"}
			}
			for _, w := range l.words {
				if strings.HasPrefix(w, "!") {
					g.note(src, l.key+" "+w, "an exclusion from the networks above: remove it from the list by hand")
					continue
				}
				p, err := netip.ParsePrefix(saNetwork(w))
				if err != nil {
					g.note(src, l.key+" "+w, "not an address or network")
					continue
				}
				trusted.Entries = append(trusted.Entries, GenEntry{p.Masked().String(), src})
			}
		default:
			why := saNotes[l.key]
			if why == "" && strings.HasPrefix(l.key, "bayes_") {
				why = saNotes["use_bayes"]
			}
			if why == "" {
				why = "no sluice equivalent"
			}
			g.note(src, text, why)
		}
	}
	if err := sc.Err(); err != nil {
		return g, err
	}
	if len(trusted.Entries) > 0 {
		g.Lists = append(g.Lists, trusted)
	}
	saFromRules(g, "spamassassin-whitelist-from", welcome, saWelcomeScore, "")
	saFromRules(g, "spamassassin-whitelist-auth", auth, saWelcomeScore, "auth")
	saFromRules(g, "spamassassin-whitelist-from-rcvd", rcvd, saWelcomeScore, "rcvd")
	saFromRules(g, "spamassassin-blacklist-from", block, saBlockScore, "")
	comment := fmt.Sprintf("required_score %g, SpamAssassin's default", required)
	if requiredSrc != "" {
		comment = fmt.Sprintf("%s: required_score %g", requiredSrc, required)
	}
	g.Rules = append(g.Rules, GenRule{Comment: comment + "\nSpamAssassin marked such mail as spam; sluice files it in Junk.",
		Name: "spamassassin-required-score", When: fmt.Sprintf("score >= %g", required), Action: ActJunk, Spam: true})
	return g, nil
}

// ActJunk is sluice's action for mail SpamAssassin would mark as spam.
const ActJunk = "junk"

// globRegexp turns a SpamAssassin address glob (* and ?) into an
// anchored regular expression.
func globRegexp(glob string) string {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range glob {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	return b.String() + "$"
}

// saFromRules writes one list setting: plain addresses and domains go in
// a list, other globs each become a rule on a regexp.
func saFromRules(g *GenRules, name string, p *saPatterns, score float64, kind string) {
	if len(p.entries) == 0 {
		return
	}
	list := GenList{Name: strings.ReplaceAll(name, "-", "_"), Comment: name[len("spamassassin-"):] + " in local.cf"}
	var srcs []string
	var globs []saEntry
	for _, e := range p.entries {
		if kind == "rcvd" {
			globs = append(globs, e) // one rule each: the relay differs
			continue
		}
		v, ok := saListEntry(e.pattern)
		if !ok {
			globs = append(globs, e)
			continue
		}
		list.Entries = append(list.Entries, GenEntry{v, e.src})
		if len(srcs) == 0 || srcs[len(srcs)-1] != e.src {
			srcs = append(srcs, e.src)
		}
		g.addSATest(saTest(e, name, score, kind), kind)
	}
	if len(list.Entries) > 0 {
		g.Lists = append(g.Lists, list)
		g.Rules = append(g.Rules, GenRule{Comment: strings.Join(srcs, ", "), Name: name,
			When: saWhen(fmt.Sprintf("in_list(%q, #)", list.Name), kind, ""), Score: score})
	}
	for i, e := range globs {
		re := globRegexp(e.pattern)
		rn := fmt.Sprintf("%s-%d", name, i+1)
		g.Rules = append(g.Rules, GenRule{Comment: e.src + ": " + e.pattern, Name: rn,
			When: saWhen(fmt.Sprintf("# matches %s", q("(?i)"+re)), kind, e.relay), Score: score})
		if kind != "rcvd" {
			g.addSATest(saTest(e, rn, score, kind), kind)
		}
	}
}

// saListEntry turns a glob sluice's lists express exactly into an entry:
// "a@b.example", "*@b.example" (the domain) and "*@*.b.example" (the
// domain and its subdomains).
func saListEntry(pat string) (string, bool) {
	local, domain, ok := strings.Cut(pat, "@")
	if !ok || strings.ContainsAny(domain, "?") || strings.Contains(domain[min(1, len(domain)):], "*") || domain == "" {
		return "", false
	}
	switch {
	case local == "*" && strings.HasPrefix(domain, "*."):
		return domain[1:], true
	case local == "*" && !strings.Contains(domain, "*"):
		return domain, true
	case !strings.ContainsAny(local, "*?") && !strings.Contains(domain, "*"):
		return pat, true
	}
	return "", false
}

// saWhen writes the condition over the sender: SpamAssassin looked at the
// From header and the envelope sender.
func saWhen(pred, kind, relay string) string {
	from := fmt.Sprintf("any([msg.from, envelope.mail_from], {%s})", pred)
	switch kind {
	case "auth":
		// whitelist_auth: the sender is vouched for by SPF or by a DKIM
		// signature of its domain.
		from = fmt.Sprintf("(any([envelope.mail_from], {%s}) and spf.result == \"pass\" or any([msg.from], {%s}) and msg.from_domain in dkim.pass_domains)", pred, pred)
	case "rcvd":
		from = fmt.Sprintf("%s and any(rdns.names, {# == %s or # endsWith %s}) and rdns.fcrdns", from, q(relay), q("."+relay))
	}
	return from
}

// saTest makes the test of one entry: a message from a sender the
// pattern matches.
func saTest(e saEntry, rule string, score float64, kind string) GenTest {
	addr := strings.NewReplacer("*", "x", "?", "x").Replace(e.pattern)
	if strings.HasPrefix(addr, "x.") || strings.Contains(addr, "@x.") {
		addr = strings.Replace(addr, "@x.", "@mail.", 1)
	}
	t := GenTest{Name: fmt.Sprintf("%s: %s", e.src, e.pattern), Raw: strings.Replace(testMessage("", ""), "From: "+testFrom, "From: "+addr, 1),
		IP: testIP, HELO: testHELO, From: addr, To: []string{testRcpt}, Rules: []string{rule}, Score: score}
	t.Action = ActAccept
	if score > 0 {
		t.Rules = append(t.Rules, "spamassassin-required-score")
		t.Action = ActJunk
	}
	return t
}

// SATestZone is the DNS zone file the generated whitelist_auth tests
// read, written beside them: an SPF record for each sender's domain that
// lets the test client send.
const SATestZone = "spamassassin-zone.txt"

// addSATest adds t; a whitelist_auth test gets an SPF record that passes
// its sender.
func (g *GenRules) addSATest(t GenTest, kind string) {
	if kind == "auth" {
		t.DNS = SATestZone
		d := t.From[strings.LastIndex(t.From, "@")+1:]
		g.Zone = append(g.Zone, fmt.Sprintf("%s. 300 IN TXT \"v=spf1 ip4:%s -all\"", d, t.IP))
	}
	g.Tests = append(g.Tests, t)
}

// saNotes say what to do instead of a setting sluice does not translate.
var saNotes = map[string]string{
	"use_bayes":      "sluice has its own Bayes stage: sluice train --spam DIR --ham DIR",
	"score":          "sluice scores with its own rules; give a rule a score:",
	"rewrite_header": "a rule's tag: marks the Subject",
	"report_safe":    "sluice never wraps spam in a report; it files it in Junk",
	"add_header":     "a rule's headers: adds header fields",
}

// saNetwork reads a trusted_networks entry: an address, a network, or a
// partial IPv4 address with or without a mask ("192.168.1/24",
// "192.168.").
func saNetwork(w string) string {
	addr, bits, hasBits := strings.Cut(strings.TrimSuffix(w, "."), "/")
	if !hasBits {
		return clientPrefix(addr)
	}
	if parts := strings.Split(addr, "."); !strings.Contains(addr, ":") && len(parts) < 4 {
		for len(parts) < 4 {
			parts = append(parts, "0")
		}
		addr = strings.Join(parts, ".")
	}
	return addr + "/" + bits
}
