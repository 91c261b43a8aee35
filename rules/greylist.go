package rules

import (
	"fmt"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/sluicemail/sluice/engine"
)

// greylistKey is the block under `stages:` that sets the greylist action's
// timing. It is not a stage (it fills no facts by itself): the engine reads
// it when a greylist rule fires.
const greylistKey = "greylist"

// greylistDoc is the `greylist:` block as written.
type greylistDoc struct {
	Delay     string `yaml:"delay"`
	Window    string `yaml:"window"`
	PassAfter *int   `yaml:"pass_after"`
	Keep      string `yaml:"keep"`
}

// decodeGreylist reads `greylist: {delay: 5m, window: 24h, pass_after: 5,
// keep: 840h}`; what is left out takes the defaults.
func decodeGreylist(file string, node ast.Node) (engine.GreylistSettings, *Error) {
	var doc greylistDoc
	if err := decodeNode(file, node, &doc, yaml.Strict()); err != nil {
		return engine.GreylistSettings{}, err
	}
	l, c := pos(node)
	fail := func(format string, args ...any) *Error {
		return &Error{File: file, Line: l, Col: c, Msg: "greylist: " + fmt.Sprintf(format, args...)}
	}
	s := engine.GreylistSettings{PassAfter: engine.DefaultGreylistPass}
	for _, d := range []struct {
		name, val string
		into      *time.Duration
	}{{"delay", doc.Delay, &s.Delay}, {"window", doc.Window, &s.Window}, {"keep", doc.Keep, &s.Keep}} {
		if d.val == "" {
			continue
		}
		v, err := time.ParseDuration(d.val)
		if err != nil || v <= 0 {
			return s, fail("%s: %q is not a positive duration (e.g. 5m, 24h)", d.name, d.val)
		}
		*d.into = v
	}
	if doc.PassAfter != nil {
		if *doc.PassAfter < 0 {
			return s, fail("pass_after must be 0 (never) or more, got %d", *doc.PassAfter)
		}
		s.PassAfter = *doc.PassAfter
	}
	s = s.WithDefaults()
	if s.Window <= s.Delay {
		return s, fail("window (%s) must be longer than delay (%s)", s.Window, s.Delay)
	}
	return s, nil
}
