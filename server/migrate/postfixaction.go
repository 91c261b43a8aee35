package migrate

import (
	"fmt"
	"strconv"
	"strings"
)

// The kinds of a translated Postfix action; the first six are sluice
// rule actions.
const (
	ActAccept     = "accept"
	ActReject     = "reject"
	ActTempfail   = "tempfail"
	ActDiscard    = "discard"
	ActQuarantine = "quarantine"
	ActRedirect   = "redirect"
	ActWarn       = "warn"  // log only: a rule that fires without an action
	ActDunno      = "dunno" // stop looking: an exception to the other entries
)

// PostfixAction is an access(5) or header_checks(5) action in sluice's
// terms.
type PostfixAction struct {
	Kind     string
	Code     int
	Enhanced string
	Text     string
	Redirect string
}

// Rule is the action as a rule file writes it ("" for warn and dunno).
func (a PostfixAction) Rule() string {
	switch a.Kind {
	case ActReject, ActTempfail:
		return fmt.Sprintf("%s %d %s %s", a.Kind, a.Code, a.Enhanced, strconv.Quote(a.Text))
	case ActRedirect:
		return "redirect " + a.Redirect
	case ActWarn, ActDunno:
		return ""
	}
	return a.Kind
}

// Reply is the SMTP reply a reject or tempfail gives.
func (a PostfixAction) Reply() string {
	return fmt.Sprintf("%d %s %s", a.Code, a.Enhanced, a.Text)
}

// parseAction reads a Postfix action. content says it comes from
// header_checks or body_checks, whose REJECT answers 550 and which know
// WARN; access maps answer 554 (access_map_reject_code) and know DUNNO.
func parseAction(s string, content bool) (PostfixAction, error) {
	word, text, _ := strings.Cut(strings.TrimSpace(s), " ")
	text = strings.TrimSpace(text)
	up := strings.ToUpper(word)
	switch {
	case up == "OK" && !content:
		return PostfixAction{Kind: ActAccept}, nil
	case up == "DUNNO" && !content:
		return PostfixAction{Kind: ActDunno}, nil
	case up == "REJECT":
		code, def := 554, "Access denied"
		if content {
			code, def = 550, "Message content rejected"
		}
		return reply(ActReject, code, text, def)
	case up == "DEFER" && !content:
		return reply(ActTempfail, 450, text, "Try again later")
	case up == "DISCARD":
		return PostfixAction{Kind: ActDiscard}, nil
	case up == "HOLD":
		return PostfixAction{Kind: ActQuarantine}, nil
	case up == "WARN" && content:
		return PostfixAction{Kind: ActWarn, Text: text}, nil
	case up == "REDIRECT" && strings.Contains(text, "@") && !strings.ContainsAny(text, " \t"):
		return PostfixAction{Kind: ActRedirect, Redirect: text}, nil
	case len(word) == 3 && (word[0] == '4' || word[0] == '5') && isDigits(word) && !content:
		kind := ActReject
		if word[0] == '4' {
			kind = ActTempfail
		}
		return reply(kind, 0, s, "")
	}
	return PostfixAction{}, fmt.Errorf("action %s has no sluice equivalent", word)
}

// reply builds a reject or tempfail from text that may start with its own
// code and enhanced code ("550 5.7.1 Go away").
func reply(kind string, code int, text, def string) (PostfixAction, error) {
	a := PostfixAction{Kind: kind, Code: code}
	if w, rest, _ := strings.Cut(text, " "); len(w) == 3 && isDigits(w) {
		a.Code, _ = strconv.Atoi(w)
		text = strings.TrimSpace(rest)
	}
	if w, rest, _ := strings.Cut(text, " "); isEnhanced(w) {
		a.Enhanced, text = w, strings.TrimSpace(rest)
	}
	class := 5
	if kind == ActTempfail {
		class = 4
	}
	if a.Code/100 != class {
		return a, fmt.Errorf("%s with code %d", kind, a.Code)
	}
	if a.Enhanced == "" {
		a.Enhanced = strconv.Itoa(class) + ".7.1"
	} else if int(a.Enhanced[0]-'0') != class {
		return a, fmt.Errorf("code %d with enhanced code %s", a.Code, a.Enhanced)
	}
	if text == "" {
		text = def
	}
	if text == "" {
		text = "Access denied"
	}
	if strings.Contains(text, "{{") {
		return a, fmt.Errorf("reply text %q holds {{, which sluice reads as a template", text)
	}
	a.Text = text
	return a, nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func isEnhanced(s string) bool {
	p := strings.Split(s, ".")
	return len(p) == 3 && len(p[0]) == 1 && (p[0] == "4" || p[0] == "5") && isDigits(p[1]) && isDigits(p[2]) && len(p[1]) <= 3 && len(p[2]) <= 3
}
