package rules

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
)

// Error is one problem in a rule directory, with its position.
type Error struct {
	File string
	Line int
	Col  int
	Rule string // "" when not inside a rule
	Msg  string
}

func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&sb, ":%d:%d", e.Line, e.Col)
	}
	sb.WriteString(": ")
	if e.Rule != "" {
		fmt.Fprintf(&sb, "rule %q: ", e.Rule)
	}
	sb.WriteString(e.Msg)
	return sb.String()
}

// ErrorList is every problem found in one load; Load reports them all at
// once so that a user fixes a file in one pass.
type ErrorList []*Error

func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Errors returns the individual errors of err if it is an ErrorList.
func Errors(err error) []*Error {
	var l ErrorList
	if errors.As(err, &l) {
		return l
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}

// yamlError turns a go-yaml error into an Error with its position.
func yamlError(file string, err error) *Error {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		p := ye.GetToken().Position
		return &Error{File: file, Line: p.Line, Col: p.Column, Msg: ye.GetMessage()}
	}
	return &Error{File: file, Msg: err.Error()}
}
