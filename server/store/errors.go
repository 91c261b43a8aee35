package store

import (
	"errors"
	"fmt"
)

// Error is a store failure with its class: a permanent error (a bad
// address or mailbox name) will fail again on retry; anything else (disk
// full, permissions, I/O) may succeed later and the message must be kept.
type Error struct {
	Op        string // "deliver", "append", ...
	User      string
	Mailbox   string
	Permanent bool
	Err       error
}

func (e *Error) Error() string {
	return fmt.Sprintf("store: %s %s/%s: %v", e.Op, e.User, e.Mailbox, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// IsPermanent reports whether err is a store error that retrying cannot
// fix. Errors of unknown origin are treated as temporary.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

func wrapErr(op, user, mailbox string, err error) error {
	if err == nil {
		return nil
	}
	perm := errors.Is(err, ErrBadName) || errors.Is(err, ErrBadUser) || errors.Is(err, ErrTooBig)
	return &Error{Op: op, User: user, Mailbox: mailbox, Permanent: perm, Err: err}
}

// ErrTooBig reports a message larger than any mailbox may hold.
var ErrTooBig = errors.New("message too large")
