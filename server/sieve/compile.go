package sieve

import (
	"errors"
	"sort"
	"strings"
)

// Script is a compiled script, checked against the extensions it
// requires. It holds no per-message state and is safe for concurrent use.
type Script struct {
	cmds     []command
	requires map[string]bool
	limits   Limits
}

// command is a compiled command; exec returns errStop for stop.
type command interface {
	exec(r *run) error
}

// test is a compiled test.
type test interface {
	eval(r *run) (bool, error)
}

var errStop = errors.New("stop")

// Compile parses and checks a script. Every fault is reported with its
// line and column; a script that compiles cannot fail to run for lack of
// an extension.
func Compile(src string, lim Limits) (*Script, error) {
	tree, err := Parse(src, lim)
	if err != nil {
		return nil, err
	}
	c := &compiler{s: &Script{requires: map[string]bool{}, limits: lim.withDefaults()}}
	if c.s.cmds, err = c.block(tree, true); err != nil {
		return nil, err
	}
	return c.s, nil
}

// Requires lists the extensions the script requires, sorted.
func (s *Script) Requires() []string {
	out := make([]string, 0, len(s.requires))
	for k := range s.requires {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type compiler struct {
	s *Script
}

func (c *compiler) has(ext string) bool { return ext == "" || c.s.requires[ext] }

// block compiles a list of commands; require is allowed only at the top
// of the script, before any other command (RFC 5228 section 3.2).
func (c *compiler) block(cmds []*Command, top bool) ([]command, error) {
	var out []command
	var prev string
	for i, cmd := range cmds {
		if cmd.Name == "require" {
			if !top || (i > 0 && prev != "require") {
				return nil, errorf(cmd.Pos, "require must come before any other command")
			}
			if err := c.require(cmd); err != nil {
				return nil, err
			}
			prev = cmd.Name
			continue
		}
		if cmd.Name == "elsif" || cmd.Name == "else" {
			if prev != "if" && prev != "elsif" {
				return nil, errorf(cmd.Pos, "%s without a preceding if", cmd.Name)
			}
			ifc := out[len(out)-1].(*ifCmd)
			if err := c.addBranch(ifc, cmd); err != nil {
				return nil, err
			}
			prev = cmd.Name
			if cmd.Name == "else" {
				prev = "else"
			}
			continue
		}
		x, err := c.command(cmd)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
		prev = cmd.Name
	}
	return out, nil
}

func (c *compiler) require(cmd *Command) error {
	if len(cmd.Args) != 1 || cmd.Args[0].kind != argStrings || len(cmd.Tests) > 0 || cmd.hasBlock {
		return errorf(cmd.Pos, "require takes one string list")
	}
	for _, name := range cmd.Args[0].Strs {
		if !supported[name] {
			return errorf(cmd.Args[0].Pos, "require: unknown Sieve capability '%s'", name)
		}
		c.s.requires[name] = true
	}
	return nil
}

// command compiles one command other than require, elsif and else.
func (c *compiler) command(cmd *Command) (command, error) {
	sp, ok := commands[cmd.Name]
	if !ok || !c.has(sp.ext) {
		if ok {
			return nil, errorf(cmd.Pos, "command '%s' needs require \"%s\"", cmd.Name, sp.ext)
		}
		return nil, errorf(cmd.Pos, "unknown command '%s'", cmd.Name)
	}
	if sp.block != cmd.hasBlock {
		if sp.block {
			return nil, errorf(cmd.Pos, "%s needs a block", cmd.Name)
		}
		return nil, errorf(cmd.Pos, "%s takes no block", cmd.Name)
	}
	if sp.tests != len(cmd.Tests) {
		if sp.tests == 0 {
			return nil, errorf(cmd.Pos, "%s takes no test", cmd.Name)
		}
		return nil, errorf(cmd.Pos, "%s needs one test", cmd.Name)
	}
	b, err := c.bind(cmd.Name, cmd.Pos, cmd.Args, sp.args)
	if err != nil {
		return nil, err
	}
	b.cmd = cmd
	return sp.build(c, b)
}

// test compiles one test.
func (c *compiler) test(t *Test) (test, error) {
	sp, ok := tests[t.Name]
	if !ok || !c.has(sp.ext) {
		if ok {
			return nil, errorf(t.Pos, "test '%s' needs require \"%s\"", t.Name, sp.ext)
		}
		return nil, errorf(t.Pos, "unknown test '%s'", t.Name)
	}
	switch {
	case sp.tests == -1 && len(t.Tests) == 0:
		return nil, errorf(t.Pos, "%s needs a list of tests", t.Name)
	case sp.tests == 1 && (len(t.Tests) != 1):
		return nil, errorf(t.Pos, "%s needs one test", t.Name)
	case sp.tests == 0 && len(t.Tests) > 0:
		return nil, errorf(t.Pos, "%s takes no nested test", t.Name)
	}
	b, err := c.bind(t.Name, t.Pos, t.Args, sp.args)
	if err != nil {
		return nil, err
	}
	b.test = t
	return sp.build(c, b)
}

func (c *compiler) tests(ts []*Test) ([]test, error) {
	out := make([]test, 0, len(ts))
	for _, t := range ts {
		x, err := c.test(t)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// supported lists every capability require accepts; Capabilities is
// built from it.
var supported = map[string]bool{
	"fileinto": true, "envelope": true, "encoded-character": true,
	"comparator-i;octet": true, "comparator-i;ascii-casemap": true,
	"comparator-i;ascii-numeric": true,
	"mailbox":                    true, "imap4flags": true, "variables": true,
	"subaddress": true, "relational": true, "body": true, "copy": true,
	"reject": true, "ereject": true, "date": true, "vacation": true,
	"editheader": true, "spamtest": true, "spamtestplus": true,
}

// Capabilities returns the extensions scripts may require, sorted and
// space-separated as ManageSieve's SIEVE capability lists them.
func Capabilities() string {
	var out []string
	for k := range supported {
		if !strings.HasPrefix(k, "comparator-i;o") && k != "comparator-i;ascii-casemap" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}
