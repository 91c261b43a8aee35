package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluicemail/sluice/engine"
)

// actionRe matches `reject 550 5.7.1 "text"` and its shorter forms: the
// code, the enhanced code and the text are each optional.
var actionRe = regexp.MustCompile(`^(reject|tempfail)(?:\s+(\d{3}))?(?:\s+(\d\.\d{1,3}\.\d{1,3}))?(?:\s+"((?:[^"\\]|\\.)*)")?\s*$`)

// parseAction parses a rule's action. The error's column is relative to the
// start of s (0-based offset in the returned int) where that helps.
func parseAction(s string) (engine.Action, int, error) {
	s = strings.TrimSpace(s)
	word, rest, _ := strings.Cut(s, " ")
	switch word {
	case engine.ActionAccept, engine.ActionDiscard, engine.ActionJunk, engine.ActionQuarantine, engine.ActionGreylist:
		if strings.TrimSpace(rest) != "" {
			return engine.Action{}, len(word) + 1, fmt.Errorf("action %s takes no arguments", word)
		}
		return engine.Action{Kind: word}, 0, nil
	case engine.ActionRedirect:
		addr := strings.Trim(strings.TrimSpace(rest), "<>")
		if !validAddress(addr) {
			return engine.Action{}, len(word) + 1, fmt.Errorf("redirect needs an address, got %q", rest)
		}
		return engine.Action{Kind: word, Redirect: addr}, 0, nil
	case engine.ActionReject, engine.ActionTempfail:
		return parseReply(s)
	}
	return engine.Action{}, 0, fmt.Errorf("unknown action %q (want accept, reject, tempfail, discard, junk, quarantine, greylist or redirect)", word)
}

func parseReply(s string) (engine.Action, int, error) {
	m := actionRe.FindStringSubmatch(s)
	if m == nil {
		return engine.Action{}, 0, fmt.Errorf("cannot read %q: want %s [CODE [X.Y.Z]] [\"text\"]", s, strings.Fields(s)[0])
	}
	a := engine.Action{Kind: m[1]}
	if a.Kind == engine.ActionReject {
		a.Code, a.Enhanced = engine.DefaultRejectCode, engine.DefaultRejectEnhanced
	} else {
		a.Code, a.Enhanced = engine.DefaultTempfailCode, engine.DefaultTempfailEnhanced
	}
	class := byte('5')
	if a.Kind == engine.ActionTempfail {
		class = '4'
	}
	if m[2] != "" {
		a.Code, _ = strconv.Atoi(m[2])
		if m[2][0] != class || a.Code < 400 || a.Code > 599 {
			return a, strings.Index(s, m[2]), fmt.Errorf("%s needs a %cxx code, got %s", a.Kind, class, m[2])
		}
		if m[3] == "" {
			a.Enhanced = string(class) + a.Enhanced[1:]
		}
	}
	if m[3] != "" {
		if m[3][0] != class {
			return a, strings.Index(s, m[3]), fmt.Errorf("%s with code %d needs a %c.x.x enhanced code, got %s", a.Kind, a.Code, class, m[3])
		}
		a.Enhanced = m[3]
	}
	text := m[4]
	if text == "" {
		text = engine.DefaultRejectText
		if a.Kind == engine.ActionTempfail {
			text = engine.DefaultTempfailText
		}
	}
	text = strings.ReplaceAll(strings.ReplaceAll(text, `\"`, `"`), `\\`, `\`)
	if strings.ContainsAny(text, "\r\n") {
		return a, 0, fmt.Errorf("reply text must be one line")
	}
	t, err := engine.CompileTemplate(text)
	if err != nil {
		off := strings.Index(s, `"`) + 1
		if ce, ok := err.(*engine.CompileError); ok {
			off += ce.Column - 1
		}
		return a, off, err
	}
	a.Text = t
	return a, 0, nil
}

// validAddress is a cheap syntax check for redirect targets and lists.
func validAddress(a string) bool {
	at := strings.LastIndexByte(a, '@')
	return at > 0 && at < len(a)-1 && !strings.ContainsAny(a, " \t<>,;")
}
