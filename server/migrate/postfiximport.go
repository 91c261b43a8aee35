package migrate

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// restrictionLists are the smtpd_*_restrictions in the order Postfix
// applies them at RCPT time (smtpd_delay_reject = yes, the default).
var restrictionLists = []string{"smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions",
	"smtpd_relay_restrictions", "smtpd_recipient_restrictions", "smtpd_data_restrictions"}

// accessChecks are the access map restrictions sluice translates.
var accessChecks = map[string]accessKind{"check_client_access": kindClient, "check_helo_access": kindHELO,
	"check_sender_access": kindSender, "check_recipient_access": kindRecipient}

// builtinRestrictions are the restrictions sluice applies itself,
// whatever the rules say: nothing to translate.
var builtinRestrictions = map[string]string{
	"permit_sasl_authenticated": "sluice relays for authenticated users itself",
	"reject_unauth_destination": "sluice never relays for unauthenticated clients",
	"defer_unauth_destination":  "sluice never relays for unauthenticated clients",
	"permit_auth_destination":   "sluice accepts mail for its own domains itself",
	"reject_unlisted_recipient": "sluice refuses unknown recipients itself",
}

// restrictionNotes say why a restriction is left out and what to do.
var restrictionNotes = map[string]string{
	"reject_unauth_pipelining":               "sluice's SMTP listener refuses clients that talk too early (limits.greet_delay)",
	"reject_unknown_client_hostname":         "write a rule on rdns.fcrdns",
	"reject_unknown_reverse_client_hostname": "write a rule on rdns.result == \"fail\"",
	"reject_rbl_client":                      "list the zone under stages: dnsbl: zones: and write a rule on dnsbl.listed",
	"reject_rhsbl_sender":                    "list the zone under stages: uribl: zones: and write a rule on uribl.listed",
	"check_policy_service":                   "a policy server has no sluice equivalent; write its checks as rules",
}

// postfixTableTypes whose source is the "key value" text postmap(1) reads.
var postfixTableTypes = map[string]bool{"hash": true, "btree": true, "lmdb": true, "cdb": true, "dbm": true, "texthash": true}

// takesArgument says whether a restriction word is followed by its
// argument (a table, a zone, a service).
func takesArgument(w string) bool {
	for _, p := range []string{"check_", "reject_rbl_", "reject_rhsbl_", "permit_dnswl_", "permit_rhswl_"} {
		if strings.HasPrefix(w, p) {
			return true
		}
	}
	return false
}

// postfixTranslator holds what one import of main.cf has made so far.
type postfixTranslator struct {
	g         *GenRules
	cf        map[string]PostfixSetting
	dir       string
	configDir string
	prefixes  map[string]int
	mynets    bool
}

// TranslatePostfix turns the filtering settings of main.cf and the maps
// it names (read from dir, a copy of the old config_directory) into a
// sluice rule file with its tests: the access maps of smtpd_*_restrictions,
// mynetworks where permit_mynetworks is used, header_checks and
// body_checks. relayhost and message_size_limit become config settings.
// Everything it cannot translate is listed in Untranslated.
func TranslatePostfix(cf map[string]PostfixSetting, dir string) *GenRules {
	t := &postfixTranslator{g: &GenRules{}, cf: cf, dir: dir, configDir: cf["config_directory"].Value, prefixes: map[string]int{}}
	for _, name := range restrictionLists {
		if s, ok := cf[name]; ok {
			t.restrictions(s)
		}
	}
	for _, name := range []string{"header_checks", "mime_header_checks", "nested_header_checks", "body_checks"} {
		if s, ok := cf[name]; ok && s.Value != "" {
			t.checks(s)
		}
	}
	t.config()
	return t.g
}

// TablePath finds a table main.cf names: under the old config_directory
// it is read from dir; elsewhere (/etc/aliases) from dir when a copy of
// that name is there, else from the path itself.
func TablePath(path, configDir, dir string) string {
	p := LocalPath(path, configDir, dir)
	if p != path {
		return p
	}
	if local := filepath.Join(dir, filepath.Base(path)); fileExists(local) {
		return local
	}
	return path
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func (t *postfixTranslator) mainSrc(s PostfixSetting) string {
	return fmt.Sprintf("main.cf:%d", s.Line)
}

func (t *postfixTranslator) restrictions(s PostfixSetting) {
	words := strings.FieldsFunc(s.Value, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	for i := 0; i < len(words); i++ {
		w := strings.ToLower(words[i])
		arg := ""
		if takesArgument(w) && i+1 < len(words) {
			i++
			arg = words[i]
		}
		where := fmt.Sprintf("%s in %s (main.cf:%d)", w, s.Name, s.Line)
		switch kind, ok := accessChecks[w]; {
		case ok && arg != "":
			t.accessTable(kind, arg, where, s)
		case w == "permit_mynetworks":
			t.mynetworks(s)
		case w == "permit":
		case builtinRestrictions[w] != "":
			t.g.Covered = append(t.g.Covered, fmt.Sprintf("%s: %s: %s", t.mainSrc(s), s.Name+": "+w, builtinRestrictions[w]))
		case (w == "reject_rbl_client" || w == "reject_rhsbl_sender") && arg != "":
			t.g.note(t.mainSrc(s), s.Name+": "+w+" "+arg, dnsListHint(w, arg))
		default:
			why := restrictionNotes[w]
			if why == "" {
				why = "no sluice equivalent; write a rule"
			}
			t.g.note(t.mainSrc(s), strings.TrimSpace(s.Name+": "+w+" "+arg), why)
		}
	}
}

// dnsListHint says, ready to paste, what a DNS list restriction becomes:
// the zone under the stage's settings and the rule that refuses as Postfix
// did. It is not written into the generated file because a pipeline's
// stage is configured in one rule file only (the example inbound.yaml
// already configures dnsbl), and a second would stop the rules loading.
func dnsListHint(w, arg string) string {
	zone, code, _ := strings.Cut(arg, "=")
	stage, item := "dnsbl", "client host"
	when := fmt.Sprintf("dnsbl.listed_in(%q)", zone)
	if w == "reject_rhsbl_sender" {
		// uribl looks up the From and link domains too, and by their
		// registered domain: only a hit on the envelope sender's is
		// what Postfix refused.
		stage, item = "uribl", "sender domain"
		when = fmt.Sprintf("any(uribl.hits, {.zone == %q && (envelope.from_domain == .item || envelope.from_domain endsWith \".\" + .item)})", zone)
	}
	entry := "{zone: " + zone
	if code != "" {
		entry += ", codes: {" + code + ": postfix}"
	}
	entry += "}"
	return fmt.Sprintf("a %s stage's list must be configured in the rule file that configures that stage: add `- %s` under stages: %s: zones: and the rule `{name: postfix-%s, when: '%s', action: 'reject 554 5.7.1 \"Service unavailable; %s blocked using %s\"'}`",
		stage, entry, stage, strings.ReplaceAll(zone, ".", "-"), when, item, zone)
}

// table splits "type:path", looking through proxy:.
func table(word string) (typ, path string) {
	typ, path, _ = strings.Cut(word, ":")
	if typ == "proxy" {
		typ, path, _ = strings.Cut(path, ":")
	}
	return strings.ToLower(typ), path
}

func (t *postfixTranslator) prefix(base string) string {
	base = "postfix-" + strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return '-'
	}, base)
	t.prefixes[base]++
	if n := t.prefixes[base]; n > 1 {
		return fmt.Sprintf("%s-%d", base, n)
	}
	return base
}

func (t *postfixTranslator) accessTable(kind accessKind, word, where string, s PostfixSetting) {
	typ, path := table(word)
	local := TablePath(path, t.configDir, t.dir)
	a := &accessMap{g: t.g, kind: kind, name: filepath.Base(path), where: where, prefix: t.prefix(filepath.Base(path))}
	report := func(bad []LineError, err error) bool {
		for _, b := range bad {
			t.g.note(a.src(b.Line), "entry", b.Err)
		}
		if err != nil {
			t.g.note(t.mainSrc(s), word, fmt.Sprintf("cannot read %s: %v", local, err))
			return false
		}
		return true
	}
	switch {
	case postfixTableTypes[typ] || typ == "cidr":
		entries, bad, err := readTable(local, ParseAccessTable)
		if report(bad, err) {
			a.addHashTable(entries, typ == "cidr")
		}
	case typ == "regexp" || typ == "pcre":
		entries, bad, err := readTable(local, ParseRegexpTable)
		if report(bad, err) {
			a.addRegexpTable(entries, typ == "pcre")
		}
	default:
		t.g.note(t.mainSrc(s), word, fmt.Sprintf("%s tables: export the entries to a hash table file and import again", typ))
	}
}

// mynetworks becomes a list and an accept rule, at the place of the first
// permit_mynetworks.
func (t *postfixTranslator) mynetworks(at PostfixSetting) {
	if t.mynets {
		return
	}
	t.mynets = true
	s, ok := t.cf["mynetworks"]
	if !ok || s.Value == "" {
		t.g.note(t.mainSrc(at), "permit_mynetworks", "mynetworks is not set in main.cf; Postfix derived it from mynetworks_style: list your networks in a rule")
		return
	}
	l := GenList{Name: "postfix_mynetworks", Comment: fmt.Sprintf("mynetworks (main.cf:%d)", s.Line)}
	for _, w := range strings.FieldsFunc(s.Value, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		n := strings.Replace(strings.Replace(w, "[", "", 1), "]", "", 1)
		p, err := netip.ParsePrefix(clientPrefix(n))
		if err != nil {
			t.g.note(t.mainSrc(s), "mynetworks "+w, "not a network")
			continue
		}
		l.Entries = append(l.Entries, GenEntry{p.Masked().String(), t.mainSrc(s)})
	}
	if len(l.Entries) == 0 {
		return
	}
	t.g.Lists = append(t.g.Lists, l)
	t.g.Rules = append(t.g.Rules, GenRule{
		Comment: fmt.Sprintf("main.cf:%d mynetworks, with permit_mynetworks in %s (main.cf:%d)", s.Line, at.Name, at.Line),
		Name:    "postfix-mynetworks", When: `in_list("postfix_mynetworks", conn.ip)`, Action: ActAccept,
	})
	t.g.Tests = append(t.g.Tests, GenTest{Name: "main.cf: mynetworks " + l.Entries[0].Value, Raw: testMessage("", ""),
		IP: hostIn(mustPrefix(l.Entries[0].Value)).String(), HELO: testHELO, From: testFrom, To: []string{testRcpt},
		Action: ActAccept, Rules: []string{"postfix-mynetworks"}})
}

func mustPrefix(s string) netip.Prefix { p, _ := netip.ParsePrefix(s); return p }

func (t *postfixTranslator) checks(s PostfixSetting) {
	for _, word := range strings.FieldsFunc(s.Value, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		typ, path := table(word)
		if typ != "regexp" && typ != "pcre" {
			t.g.note(t.mainSrc(s), s.Name+" "+word, fmt.Sprintf("%s tables in %s: write the patterns as rules", typ, s.Name))
			continue
		}
		local := TablePath(path, t.configDir, t.dir)
		entries, bad, err := readTable(local, ParseRegexpTable)
		name := filepath.Base(path)
		for _, b := range bad {
			t.g.note(fmt.Sprintf("%s:%d", name, b.Line), "entry", b.Err)
		}
		if err != nil {
			t.g.note(t.mainSrc(s), word, fmt.Sprintf("cannot read %s: %v", local, err))
			continue
		}
		c := &contentChecks{g: t.g, name: name, where: fmt.Sprintf("%s, main.cf:%d", s.Name, s.Line),
			body: s.Name == "body_checks", pcre: typ == "pcre"}
		c.add(entries)
	}
}

// config turns relayhost and message_size_limit into sluice config
// settings.
func (t *postfixTranslator) config() {
	if s, ok := t.cf["relayhost"]; ok && s.Value != "" {
		host, port := s.Value, "25"
		if i := strings.LastIndex(host, "]:"); i >= 0 {
			host, port = host[:i+1], host[i+2:]
		} else if h, p, ok := strings.Cut(host, ":"); ok && !strings.HasPrefix(host, "[") {
			host, port = h, p
		}
		host = strings.Trim(host, "[]")
		t.g.Config = append(t.g.Config, fmt.Sprintf("relay: {smarthost: {host: %s, port: %s}}  # main.cf:%d relayhost = %s (add tls: and username: as the relay needs)", host, port, s.Line, s.Value))
	}
	if s, ok := t.cf["message_size_limit"]; ok && s.Value != "" {
		if isDigits(s.Value) && s.Value != "0" {
			t.g.Config = append(t.g.Config, fmt.Sprintf("limits: {message_size: %s}  # main.cf:%d message_size_limit", s.Value, s.Line))
		} else {
			t.g.note(t.mainSrc(s), "message_size_limit = "+s.Value, "not a byte count")
		}
	}
	if s, ok := t.cf["mynetworks"]; ok && s.Value != "" && !t.mynets {
		t.g.note(t.mainSrc(s), "mynetworks = "+s.Value, "no restriction list uses permit_mynetworks; sluice relays only for authenticated users")
	}
}
