package sieve

import "fmt"

// Pos is a place in a script: line and column, both from 1.
type Pos struct {
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Error is a fault in a script found by the lexer, the parser or the
// compiler, with where it is.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("line %d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg) }

func errorf(p Pos, format string, args ...any) *Error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}
