package engine

import (
	"fmt"
	"strings"
)

// The actions a rule may take. Accept is also the verdict when no rule
// decides.
const (
	ActionAccept     = "accept"
	ActionReject     = "reject"
	ActionTempfail   = "tempfail"
	ActionDiscard    = "discard"
	ActionJunk       = "junk"
	ActionQuarantine = "quarantine"
	ActionRedirect   = "redirect"
)

// Action is what a rule does when it fires.
type Action struct {
	Kind     string    // one of the Action* constants, "" for none
	Code     int       // SMTP code for reject and tempfail
	Enhanced string    // RFC 3463 enhanced code, e.g. 5.7.1
	Text     *Template // reply text, may interpolate facts
	Redirect string    // address for redirect
}

// Fired records one rule that matched.
type Fired struct {
	Name   string  `json:"name"`
	Score  float64 `json:"score,omitempty"`
	Action string  `json:"action,omitempty"`
}

// Verdict is what a pipeline decided for a message.
type Verdict struct {
	Action   string   // one of the Action* constants
	Code     int      // SMTP reply code for reject and tempfail
	Enhanced string   // enhanced status code
	Text     string   // reply text
	Redirect string   // new recipient for redirect
	Score    float64  // sum of the fired rules' scores
	Headers  []Field  // header fields to add
	Tag      string   // prefix for the Subject
	DKIMSign *bool    // a rule's explicit choice; nil means the default
	Learn    string   // the last fired rule's learn: (LearnSpam, LearnHam), or ""
	Fired    []Fired  // rules that matched, in order
	Stages   []string // stages that ran, in order of completion
	// Decided is false when an earlier phase could not decide yet because
	// a rule that might decide needs facts from a later phase.
	Decided bool
	// Phase is the earliest SMTP phase at which this verdict is known.
	Phase Phase
	// Err is the runtime error of a rule, which makes the verdict a
	// tempfail; its text names the rule.
	Err error
}

// Rules returns the names of the rules that fired, in order.
func (v *Verdict) Rules() []string {
	out := make([]string, len(v.Fired))
	for i, f := range v.Fired {
		out[i] = f.Name
	}
	return out
}

// Reply returns the SMTP reply line for reject and tempfail ("" otherwise).
func (v *Verdict) Reply() string {
	if v.Code == 0 {
		return ""
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s %s", v.Code, v.Enhanced, v.Text))
}

// Final reports whether the action ends the message's way through sluice
// here: the message is refused or not delivered as addressed.
func (v *Verdict) Final() bool {
	return v.Action == ActionReject || v.Action == ActionTempfail
}

// Default replies for reject and tempfail rules written without a code.
const (
	DefaultRejectCode       = 550
	DefaultRejectEnhanced   = "5.7.1"
	DefaultRejectText       = "Message refused"
	DefaultTempfailCode     = 451
	DefaultTempfailEnhanced = "4.7.1"
	DefaultTempfailText     = "Try again later"
)
