package sieve

import (
	"errors"
	"fmt"
	"time"
)

// Envelope is the SMTP envelope of the delivery the script runs for.
type Envelope struct {
	From string // the reverse path, "" for the null sender
	To   string // the recipient, the user whose script this is
}

// Env is everything a run sees besides the script.
type Env struct {
	Envelope Envelope
	Msg      *Message
	Now      time.Time      // for currentdate; zero means time.Now()
	Zone     *time.Location // the zone of date tests without :zone; nil: time.Local
	// Spam is how sure the server is that the message is spam, 0 to 1,
	// for spamtest; nil when it was not tested.
	Spam *float64
}

// RuntimeError is a failure while running a script (a limit hit,
// conflicting actions). The delivery falls back to the implicit keep,
// as Pigeonhole does, so that nothing is lost.
type RuntimeError struct {
	Pos Pos
	Msg string
}

func (e *RuntimeError) Error() string {
	return fmt.Sprintf("line %d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
}

// run is the state of one execution.
type run struct {
	s         *Script
	env       Env
	steps     int
	vars      map[string]string
	matchVars []string
	flags     string // the internal variable of imap4flags
	res       *Result
	redirects int
	edited    bool // editheader changed the message (env.Msg is our copy)
}

// Execute runs the script against one message and returns what to do
// with it. On a runtime error the result is the implicit keep alone and
// the error says why.
func (s *Script) Execute(env Env) (*Result, error) {
	if env.Now.IsZero() {
		env.Now = time.Now()
	}
	if env.Msg == nil {
		env.Msg = &Message{}
	}
	r := &run{s: s, env: env, vars: map[string]string{}, res: &Result{ImplicitKeep: true}}
	err := r.block(s.cmds)
	if errors.Is(err, errStop) {
		err = nil
	}
	if err != nil {
		return &Result{ImplicitKeep: true}, err
	}
	if r.res.ImplicitKeep {
		r.res.KeepFlags = flagList(r.flags)
		r.res.KeepMessage = r.currentRaw()
	}
	return r.res, nil
}

func (r *run) block(cmds []command) error {
	for _, c := range cmds {
		if err := r.step(); err != nil {
			return err
		}
		if err := c.exec(r); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) eval(t test) (bool, error) {
	if err := r.step(); err != nil {
		return false, err
	}
	return t.eval(r)
}

func (r *run) step() error {
	r.steps++
	if r.steps > r.s.limits.Steps {
		return &RuntimeError{Msg: fmt.Sprintf("more than %d execution steps", r.s.limits.Steps)}
	}
	return nil
}
