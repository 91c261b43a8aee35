package engine

import (
	"context"
	"time"
)

// Stage is one check: it fills the facts of its namespace for one message.
// A Stage value is built once per rule set from its settings block and is
// shared by all messages, so it must be safe for concurrent use; per-message
// state lives in Input.
type Stage interface {
	// Namespace is the facts namespace the stage fills, e.g. "spf".
	Namespace() string
	// Phase is the SMTP phase from which the stage's inputs are known.
	Phase() Phase
	// Run computes the facts. It must honour ctx: when ctx ends, return
	// its error promptly.
	Run(ctx context.Context, in *Input) error
	// Fail records a temporary error in the namespace (result temperror),
	// after Run returned err, timed out or panicked.
	Fail(f *Facts, err error)
}

// Learner is implemented by stages that learn from the mail the server
// takes (the Bayes stage's autolearner).
type Learner interface {
	// Learns reports whether the stage is set up to learn at all (its
	// guards configured), in a dry run too: a rule's learn: needs it.
	Learns() bool
	// LearnVerdict is called once per message the server takes
	// (WithLearning: never for a dry run, a rule test, a replay or a
	// console try) with its DATA verdict, after every rule ran: class is
	// a rule's learn: ("spam", "ham"), or "" for the stage's own choice.
	// What it cannot learn it logs; the verdict stands.
	LearnVerdict(in *Input, class string)
}

// Dependent is implemented by stages that read other namespaces (dmarc reads
// spf and dkim); the engine runs those first.
type Dependent interface {
	Needs() []string
}

// Timeouter is implemented by stages whose timeout differs from the
// pipeline's default.
type Timeouter interface {
	Timeout() time.Duration
}

// Input is what a stage sees of one message.
type Input struct {
	Msg   *Message
	Facts *Facts // write only your own namespace; read only those you Need
	DNS   Resolver
}
