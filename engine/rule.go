package engine

import (
	"fmt"
	"sort"
)

// Position is where a rule was written, for errors and logs.
type Position struct {
	File string
	Line int
	Col  int
}

func (p Position) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Rule is one compiled rule. Package rules builds it from a rule file.
type Rule struct {
	Name     string
	Pos      Position
	When     *Compiled // nil: always fires
	Score    float64
	Action   Action // Kind "" for a rule that only scores or edits
	Headers  []HeaderEdit
	Tag      *Template
	Stop     bool  // end evaluation when the rule fires
	DKIMSign *bool // nil: leave the signing decision alone
	// Learn is LearnSpam or LearnHam: the message is learnt as that by the
	// pipeline's Learner, within its guards. "": the stage's own choice.
	Learn string

	needs      []string // stage namespaces, sorted
	needsMsg   bool
	needsBody  bool
	readsScore bool
	phase      Phase
}

// The classes a rule's learn: may name.
const (
	LearnSpam = "spam"
	LearnHam  = "ham"
)

// HeaderEdit adds a header field when the rule fires.
type HeaderEdit struct {
	Name  string
	Value *Template
}

// Phase returns the earliest phase at which every fact the rule reads is
// known. Valid after Pipeline.Prepare.
func (r *Rule) Phase() Phase { return r.phase }

// Needs returns the stage namespaces the rule reads. Valid after Prepare.
func (r *Rule) Needs() []string { return r.needs }

// terminal reports whether firing this rule may end evaluation, which is
// what forbids deciding before its facts are known.
func (r *Rule) terminal() bool { return r.Stop || r.Action.Kind != "" }

// builtinPhase gives the phase of the namespaces that are not stages.
var builtinPhase = map[string]Phase{
	"conn": PhaseConnect, "auth": PhaseMail, "envelope": PhaseMail, "msg": PhaseData,
	"header": PhaseData, "headers": PhaseData, "score": PhaseConnect, "dns": PhaseConnect,
	"in_list": PhaseConnect, "domain": PhaseConnect, "cidr": PhaseConnect,
	"rate_exceeded": PhaseConnect, "rate_exceeded_by": PhaseConnect, "rate": PhaseConnect,
	"greylist": PhaseRcpt,
}

// bodyFields are the msg fields that need the MIME body parsed.
var bodyFields = map[string]bool{
	"msg.text": true, "msg.html": true, "msg.urls": true, "msg.url_domains": true,
	"msg.attachments": true, "msg.malformed": true, "msg.malformed_reason": true,
}

// prepare computes what the rule reads from its expressions.
func (r *Rule) prepare(stages map[string]Stage) error {
	refs := r.allRefs()
	need := map[string]bool{}
	for ns := range refs.Namespaces {
		if ph, ok := builtinPhase[ns]; ok {
			r.phase = max(r.phase, ph)
			continue
		}
		st, ok := stages[ns]
		if !ok {
			return fmt.Errorf("reads %s, but no stage provides it", ns)
		}
		need[ns] = true
		r.phase = max(r.phase, st.Phase())
	}
	for f := range refs.Fields {
		if f == "envelope.rcpt" || f == "envelope.rcpt_domains" {
			r.phase = max(r.phase, PhaseRcpt)
		}
		if bodyFields[f] {
			r.needsBody = true
		}
	}
	if r.Action.Kind == ActionGreylist {
		r.phase = max(r.phase, PhaseRcpt) // its triplets need the recipients
	}
	r.needsMsg = refs.Namespaces["msg"] || refs.Namespaces["header"] || refs.Namespaces["headers"]
	r.readsScore = refs.Namespaces["score"]
	r.needs = r.needs[:0]
	for ns := range need {
		r.needs = append(r.needs, ns)
	}
	sort.Strings(r.needs)
	return nil
}

func (r *Rule) allRefs() Refs {
	all := Refs{Namespaces: map[string]bool{}, Fields: map[string]bool{}}
	add := func(x Refs) {
		for k := range x.Namespaces {
			all.Namespaces[k] = true
		}
		for k := range x.Fields {
			all.Fields[k] = true
		}
	}
	if r.When != nil {
		add(r.When.Refs)
	}
	for _, t := range r.templates() {
		add(t.Refs)
	}
	return all
}

func (r *Rule) templates() []*Template {
	var ts []*Template
	if r.Action.Text != nil {
		ts = append(ts, r.Action.Text)
	}
	if r.Tag != nil {
		ts = append(ts, r.Tag)
	}
	for _, h := range r.Headers {
		ts = append(ts, h.Value)
	}
	return ts
}
