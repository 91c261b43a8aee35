package migrate

import (
	"fmt"
	"regexp"
	"strings"
)

// compilePostfixRegexp compiles a regexp_table(5) or pcre_table(5)
// pattern as Go's RE2. Both tables match case-insensitively unless the i
// flag says otherwise; a pattern RE2 cannot express (back references,
// look-around) or a flag it has no equivalent for is an error.
func compilePostfixRegexp(e RegexpEntry, pcre bool) (*regexp.Regexp, error) {
	fold, extra := true, ""
	for _, f := range e.Flags {
		switch {
		case f == 'i':
			fold = !fold
		case f == 'm':
			extra += "m"
		case f == 's' && pcre:
			extra += "s"
		case f == 'U' && pcre:
			extra += "U"
		default:
			return nil, fmt.Errorf("flag %c has no RE2 equivalent", f)
		}
	}
	if fold {
		extra = "i" + extra
	}
	pat := e.Pattern
	if extra != "" {
		pat = "(?" + extra + ")" + pat
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, fmt.Errorf("the pattern is not valid in RE2, Go's regexp: %v", err)
	}
	return re, nil
}

var (
	headerName  = regexp.MustCompile(`^\^([A-Za-z][A-Za-z0-9-]*)[ \t]*:`)
	headerNames = regexp.MustCompile(`^\^\((?:\?:)?([A-Za-z][A-Za-z0-9-]*(?:\|[A-Za-z][A-Za-z0-9-]*)+)\)[ \t]*:`)
)

// contentChecks translates header_checks(5) or body_checks: one rule per
// entry, in file order as Postfix applies them.
type contentChecks struct {
	g     *GenRules
	name  string // the table file's base name
	where string // "header_checks (main.cf:33)"
	body  bool
	pcre  bool
}

func (c *contentChecks) add(entries []RegexpEntry) {
	for _, e := range entries {
		src := fmt.Sprintf("%s:%d", c.name, e.Line)
		text := fmt.Sprintf("/%s/%s %s", e.Pattern, e.Flags, e.Action)
		if e.Negate {
			text = "!" + text
		}
		act, err := parseAction(e.Action, true)
		if err != nil {
			c.g.note(src, text, err.Error())
			continue
		}
		if e.Negate {
			c.g.note(src, text, "a negated pattern matches nearly every line")
			continue
		}
		re, err := compilePostfixRegexp(e, c.pcre)
		if err != nil {
			c.g.note(src, text, err.Error())
			continue
		}
		when, why := c.when(e, re)
		if why != "" {
			c.g.note(src, text, why)
			continue
		}
		kind := "header"
		if c.body {
			kind = "body"
		}
		name := fmt.Sprintf("postfix-%s-%d", strings.ReplaceAll(c.name, "_", "-"), e.Line)
		comment := fmt.Sprintf("%s (%s): %s", src, c.where, text)
		if !c.body {
			comment += "\nsluice matches the decoded top-level header; Postfix matched the raw one and, through mime_header_checks, MIME part headers too"
		} else {
			comment += "\nsluice matches the decoded text of the text parts; Postfix matched the raw body lines"
		}
		r := GenRule{Comment: comment, Name: name, When: when, Action: act.Rule()}
		if act.Kind == ActWarn {
			// Postfix only logs a WARN; a rule must do something, and a
			// header is the mildest thing it can do.
			r.Warn = strings.TrimSpace(src + " " + act.Text)
		}
		c.g.Rules = append(c.g.Rules, r)
		ex, ok := exampleMatch(re)
		if !ok || strings.ContainsAny(ex, "\r\n") {
			c.g.note(src, text, "translated, but no test: no example "+kind+" line could be made from the pattern")
			continue
		}
		c.addTest(src, text, ex, name, act)
	}
}

// when writes the rule condition. A header pattern must name its field
// ("^Subject:"), since sluice reads header fields by name.
func (c *contentChecks) when(e RegexpEntry, re *regexp.Regexp) (string, string) {
	if c.body {
		pat := re.String()
		if !strings.HasPrefix(pat, "(?") {
			pat = "(?m)" + pat
		} else {
			pat = "(?m" + pat[2:]
		}
		// Lines end in CRLF on the wire; (?m)$ only sees the LF.
		return fmt.Sprintf("replace(msg.text, \"\\r\", \"\") matches %s", q(pat)), ""
	}
	var names []string
	if m := headerName.FindStringSubmatch(e.Pattern); m != nil {
		names = []string{m[1]}
	} else if m := headerNames.FindStringSubmatch(e.Pattern); m != nil {
		names = strings.Split(m[1], "|")
	} else {
		return "", "the pattern does not start with ^Field-Name: (sluice reads header fields by name)"
	}
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("any(headers(%s), {(%s + #) matches %s})", q(n), q(n+": "), q(re.String())))
	}
	return strings.Join(parts, " or "), ""
}

func (c *contentChecks) addTest(src, text, ex, rule string, act PostfixAction) {
	t := GenTest{Name: src + ": " + text, IP: testIP, HELO: testHELO, From: testFrom, To: []string{testRcpt},
		Action: act.Kind, Rules: []string{rule}}
	if c.body {
		t.Raw = testMessage("", ex)
	} else {
		t.Raw = testMessage(ex, "")
	}
	switch act.Kind {
	case ActWarn:
		t.Action = ActAccept
		t.Headers = map[string]string{"X-Postfix-Warn": strings.TrimSpace(src + " " + act.Text)}
	case ActReject, ActTempfail:
		t.Reply = act.Reply()
	}
	c.g.Tests = append(c.g.Tests, t)
}
