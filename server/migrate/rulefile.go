package migrate

import (
	"fmt"
	"strconv"
	"strings"
)

// GenList is a list a generated rule file declares, each entry with the
// source line it comes from.
type GenList struct {
	Name, Comment string
	Entries       []GenEntry
}

// GenEntry is one list entry and where it comes from ("sender_access:3").
type GenEntry struct{ Value, Source string }

// GenRule is one generated rule; Comment names its source lines.
type GenRule struct {
	Comment, Name, When, Action string
	Warn                        string  // for WARN: the X-Postfix-Warn header it adds instead of a log line
	Score                       float64 // added to the message's score
	Spam                        bool    // adds X-Spam-Flag: YES, as SpamAssassin marked spam
}

// GenTest is one generated rule test: a message and envelope made from a
// source entry, and the verdict the old server gave it.
type GenTest struct {
	Name, Raw, IP, HELO, From string
	To                        []string
	Action, Reply             string
	Rules, NotRules           []string
	Headers                   map[string]string
	Score                     float64 // the score expected, when not 0
	DNS                       string  // the zone file the test reads, beside the test file
}

// GenRules is a rule file, its rule tests and what could not be
// translated, as an importer builds them.
type GenRules struct {
	Lists        []GenList
	Rules        []GenRule
	Tests        []GenTest
	Untranslated []string // "file:line: text: not translated (why)"
	Zone         []string // records of the zone file tests name in DNS
	Config       []string // settings for the sluice config, with their source
	Covered      []string // source lines sluice does by itself, with why
}

// note records a line that could not be translated.
func (g *GenRules) note(src, text, why string) {
	g.Untranslated = append(g.Untranslated, fmt.Sprintf("%s: %s: not translated (%s)", src, text, why))
}

// q quotes s as a YAML double-quoted scalar (Go's escapes are YAML's).
func q(s string) string { return strconv.Quote(s) }

// RuleFile renders the rule file; header is its opening comment.
func (g *GenRules) RuleFile(header string) []byte {
	var b strings.Builder
	comment(&b, "", header)
	b.WriteString("pipeline: inbound\n")
	if len(g.Lists) > 0 {
		b.WriteString("\nlists:\n")
		for _, l := range g.Lists {
			comment(&b, "  ", l.Comment)
			fmt.Fprintf(&b, "  %s:\n", l.Name)
			for _, e := range l.Entries {
				fmt.Fprintf(&b, "    - %s  # %s\n", q(e.Value), e.Source)
			}
		}
	}
	if len(g.Rules) == 0 {
		b.WriteString("\nrules: []\n")
		return []byte(b.String())
	}
	b.WriteString("\nrules:\n")
	for _, r := range g.Rules {
		b.WriteString("\n")
		comment(&b, "  ", r.Comment)
		fmt.Fprintf(&b, "  - name: %s\n    when: %s\n", q(r.Name), q(r.When))
		if r.Action != "" {
			fmt.Fprintf(&b, "    action: %s\n", q(r.Action))
		}
		if r.Score != 0 {
			fmt.Fprintf(&b, "    score: %g\n", r.Score)
		}
		if r.Spam {
			b.WriteString("    headers: {X-Spam-Flag: \"YES\"}\n")
		}
		if r.Warn != "" {
			fmt.Fprintf(&b, "    headers: {X-Postfix-Warn: %s}\n", q(r.Warn))
		}
	}
	return []byte(b.String())
}

// TestFile renders the rule tests.
func (g *GenRules) TestFile(header string) []byte {
	var b strings.Builder
	comment(&b, "", header)
	b.WriteString("pipeline: inbound\n")
	if len(g.Tests) == 0 {
		b.WriteString("tests: []\n")
		return []byte(b.String())
	}
	b.WriteString("tests:\n")
	for _, t := range g.Tests {
		fmt.Fprintf(&b, "  - name: %s\n    raw: %s\n", q(t.Name), q(t.Raw))
		if t.DNS != "" {
			fmt.Fprintf(&b, "    dns: %s\n", q(t.DNS))
		}
		fmt.Fprintf(&b, "    envelope: {ip: %s, helo: %s, from: %s, to: [%s]}\n", q(t.IP), q(t.HELO), q(t.From), quoteAll(t.To))
		fmt.Fprintf(&b, "    expect: {action: %s", q(t.Action))
		if t.Reply != "" {
			fmt.Fprintf(&b, ", reply: %s", q(t.Reply))
		}
		if t.Score != 0 {
			fmt.Fprintf(&b, ", score: %g", t.Score)
		}
		if len(t.Rules) > 0 {
			fmt.Fprintf(&b, ", rules: [%s]", quoteAll(t.Rules))
		}
		if len(t.NotRules) > 0 {
			fmt.Fprintf(&b, ", not_rules: [%s]", quoteAll(t.NotRules))
		}
		for k, v := range t.Headers {
			fmt.Fprintf(&b, ", headers: {%s: %s}", k, q(v))
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

func quoteAll(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = q(s)
	}
	return strings.Join(out, ", ")
}

func comment(b *strings.Builder, indent, text string) {
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if text != "" {
			fmt.Fprintf(b, "%s# %s\n", indent, strings.Map(func(r rune) rune {
				if r < ' ' {
					return ' '
				}
				return r
			}, l))
		}
	}
}

// The envelope and message a generated test uses where the source entry
// says nothing: reserved names (RFC 2606) and a documentation address
// (RFC 5737) that no real table lists.
const (
	testIP   = "192.0.2.1"
	testHELO = "helo.invalid"
	testFrom = "test@sender.invalid"
	testRcpt = "test@rcpt.invalid"
)

// testMessage builds a message: first the header line given (if any),
// then the usual fields it does not already set, then the body.
func testMessage(headerLine, body string) string {
	var b strings.Builder
	name, _, _ := strings.Cut(headerLine, ":")
	if headerLine != "" {
		b.WriteString(headerLine + "\n")
	}
	for _, f := range []string{"From: " + testFrom, "To: " + testRcpt, "Subject: test", "Date: Mon, 16 Nov 2026 10:00:00 +0000", "Message-ID: <test@sender.invalid>"} {
		if n, _, _ := strings.Cut(f, ":"); headerLine == "" || !strings.EqualFold(n, strings.TrimSpace(name)) {
			b.WriteString(f + "\n")
		}
	}
	if body == "" {
		body = "A test message."
	}
	b.WriteString("\n" + body + "\n")
	return b.String()
}

// ZoneFile renders the DNS records the tests read, in RFC 1035 master
// format.
func (g *GenRules) ZoneFile() []byte {
	return []byte("; DNS for the generated rule tests\n$ORIGIN .\n$TTL 300\n" + strings.Join(g.Zone, "\n") + "\n")
}
