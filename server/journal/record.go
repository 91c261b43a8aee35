package journal

import (
	"encoding/json"
	"time"

	"github.com/sluicemail/sluice/stages/resolver"
)

// Version is the format version this build writes and the newest it
// reads. Each file starts with a header line naming its version; a reader
// refuses a file from a newer version rather than misread it.
const Version = 1

// header is the first line of every journal file.
type header struct {
	Journal string `json:"journal"` // always "sluice"
	Version int    `json:"version"`
	Created string `json:"created"`
}

// Directions of a record.
const (
	In  = "in"  // the MX listener
	Out = "out" // submission
)

// Record is one decided message, or one SMTP phase that refused it: what
// `sluice explain` tells and `sluice replay` evaluates again.
type Record struct {
	Seq uint64 `json:"seq"` // set by Append: one more than the previous record
	// Kind is "" for a verdict, "shadow" for a disagreement of the shadow
	// rules with the verdict of record Of.
	Kind      string    `json:"kind,omitempty"`
	Of        string    `json:"of,omitempty"`
	ID        string    `json:"id"`   // the journal ID, also in the verdict log line
	Time      time.Time `json:"time"` // when the verdict was reached
	Direction string    `json:"direction"`
	Pipeline  string    `json:"pipeline"` // inbound or outbound
	Session   string    `json:"session"`  // the SMTP session id, also in our Received field
	Conn      Conn      `json:"conn"`
	Envelope  Envelope  `json:"envelope"`
	MessageID string    `json:"message_id,omitempty"` // without angle brackets
	Subject   string    `json:"subject,omitempty"`
	From      string    `json:"from,omitempty"`     // the From header field, as sent
	Received  string    `json:"received,omitempty"` // the Received field we added

	Phase    string  `json:"phase"` // the SMTP phase that decided
	Action   string  `json:"action"`
	Code     int     `json:"code,omitempty"`
	Enhanced string  `json:"enhanced,omitempty"`
	Text     string  `json:"text,omitempty"`
	Redirect string  `json:"redirect,omitempty"`
	Learn    string  `json:"learn,omitempty"` // a rule's learn: (spam, ham), what the autolearner was asked
	Score    float64 `json:"score"`
	Error    string  `json:"error,omitempty"` // a rule's runtime error
	Rules    []Rule  `json:"rules"`           // the rules that fired, in order
	RuleSet  string  `json:"ruleset,omitempty"`

	// Facts are the facts per namespace as rules see them, kept as JSON:
	// readers that need them decode them (FactsMap), a replay does not.
	Facts  json.RawMessage     `json:"facts,omitempty"`
	Checks []Check             `json:"checks,omitempty"`
	DNS    []resolver.Exchange `json:"dns,omitempty"` // every answer the checks used

	Stored *Stored `json:"stored,omitempty"` // where the message is, when it has a body
	Shadow *Shadow `json:"shadow,omitempty"` // the shadow rule set's verdict, when it disagrees
}

// Conn is what the record keeps of the SMTP connection.
type Conn struct {
	IP       string `json:"ip"`
	HELO     string `json:"helo,omitempty"`
	TLS      string `json:"tls,omitempty"` // the TLS version, "" for plain text
	Listener string `json:"listener"`
	Port     int    `json:"port,omitempty"`
	User     string `json:"user,omitempty"` // the authenticated user
}

// Envelope is MAIL FROM and the recipients of the transaction.
type Envelope struct {
	From string   `json:"from"`
	Rcpt []string `json:"rcpt"`
	// Refused is the recipient whose RCPT was refused, for a record of the
	// RCPT phase.
	Refused string `json:"refused,omitempty"`
}

// Rule is one rule that fired: its name, where its `- name:` entry is,
// what it added to the score and its action.
type Rule struct {
	Name   string  `json:"name"`
	File   string  `json:"file,omitempty"`
	Line   int     `json:"line,omitempty"`
	Score  float64 `json:"score"`
	Action string  `json:"action,omitempty"`
	// When is the rule's condition as written; Reads are the facts it
	// reads ("dnsbl.listed"), whose values the record's Facts hold.
	When  string   `json:"when,omitempty"`
	Reads []string `json:"reads,omitempty"`
}

// Check is one stage that ran for the message.
type Check struct {
	Stage    string  `json:"stage"`
	Duration float64 `json:"ms"` // milliseconds
	Error    string  `json:"error,omitempty"`
}

// Stored points to the message text: the queue entry it was spooled as
// and the copy the journal keeps for replay (Body), or for a message
// refused after DATA only its header and a digest when the copy was not
// kept.
type Stored struct {
	Queue  string `json:"queue,omitempty"` // spool id
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
	Body   *Body  `json:"body,omitempty"`
	Header string `json:"header,omitempty"` // only when Body is nil
}

// Body is where the journal's copy of a message is: a byte range of a
// bodies file beside the journal files.
type Body struct {
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Size   int    `json:"size"`
}

// Shadow is the verdict of the shadow rule set for the same message.
type Shadow struct {
	RuleSet string  `json:"ruleset,omitempty"`
	Action  string  `json:"action"`
	Code    int     `json:"code,omitempty"`
	Score   float64 `json:"score"`
	Rules   []Rule  `json:"rules"`
	// Unrecorded are the DNS questions the shadow rules asked that the
	// live checks had not (answered temperror).
	Unrecorded []string `json:"unrecorded,omitempty"`
}

// FactsJSON encodes the facts of a record (engine.FactsMap's result).
func FactsJSON(m map[string]any) json.RawMessage {
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return b
}

// FactsMap decodes the record's facts (nil when there are none).
func (r *Record) FactsMap() map[string]any {
	var m map[string]any
	if len(r.Facts) > 0 {
		json.Unmarshal(r.Facts, &m)
	}
	return m
}
