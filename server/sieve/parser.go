package sieve

import "strings"

// Limits bound what a script may cost; the zero value of a field takes
// the default, which follows Pigeonhole's.
type Limits struct {
	ScriptSize int // bytes of script text (1 MiB)
	Nesting    int // depth of blocks and tests (32)
	Steps      int // commands and tests run per message (100000)
	Redirects  int // redirect actions per message (4)
	Actions    int // actions per message (32)
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.ScriptSize, 1<<20)
	def(&l.Nesting, 32)
	def(&l.Steps, 100000)
	def(&l.Redirects, 4)
	def(&l.Actions, 32)
	return l
}

// parser builds the syntax tree from tokens with one token of lookahead.
type parser struct {
	lex    *lexer
	tok    token
	depth  int
	limits Limits
}

// Parse reads a script into its syntax tree without checking commands.
func Parse(src string, lim Limits) ([]*Command, error) {
	lim = lim.withDefaults()
	if len(src) > lim.ScriptSize {
		return nil, errorf(Pos{1, 1}, "script is %d bytes, over the limit of %d", len(src), lim.ScriptSize)
	}
	p := &parser{lex: newLexer(src), limits: lim}
	if err := p.advance(); err != nil {
		return nil, err
	}
	cmds, err := p.commands()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, errorf(p.tok.pos, "unexpected %s", p.tok.describe())
	}
	return cmds, nil
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) isPunct(c string) bool { return p.tok.kind == tokPunct && p.tok.text == c }

func (p *parser) expect(c, what string) error {
	if !p.isPunct(c) {
		return errorf(p.tok.pos, "expected '%s' %s, found %s", c, what, p.tok.describe())
	}
	return p.advance()
}

func (p *parser) nest(pos Pos) error {
	p.depth++
	if p.depth > p.limits.Nesting {
		return errorf(pos, "nesting deeper than %d", p.limits.Nesting)
	}
	return nil
}

// commands reads commands up to a closing brace or the end.
func (p *parser) commands() ([]*Command, error) {
	var out []*Command
	for p.tok.kind == tokIdent {
		c, err := p.command()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (p *parser) command() (*Command, error) {
	c := &Command{Pos: p.tok.pos, Name: strings.ToLower(p.tok.text)}
	if err := p.advance(); err != nil {
		return nil, err
	}
	var err error
	if c.Args, c.Tests, err = p.arguments(); err != nil {
		return nil, err
	}
	switch {
	case p.isPunct(";"):
		return c, p.advance()
	case p.isPunct("{"):
		if err := p.nest(p.tok.pos); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		c.hasBlock = true
		if c.Block, err = p.commands(); err != nil {
			return nil, err
		}
		p.depth--
		return c, p.expect("}", "to end the block of "+c.Name)
	}
	return nil, errorf(p.tok.pos, "expected ';' or '{' after %s, found %s", c.Name, p.tok.describe())
}

// arguments reads *argument [test / test-list].
func (p *parser) arguments() ([]Arg, []*Test, error) {
	var args []Arg
	for {
		a, ok, err := p.argument()
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			break
		}
		args = append(args, a)
	}
	switch {
	case p.tok.kind == tokIdent:
		t, err := p.test()
		if err != nil {
			return nil, nil, err
		}
		return args, []*Test{t}, nil
	case p.isPunct("("):
		ts, err := p.testList()
		return args, ts, err
	}
	return args, nil, nil
}

func (p *parser) argument() (Arg, bool, error) {
	a := Arg{Pos: p.tok.pos}
	switch {
	case p.tok.kind == tokTag:
		a.kind, a.Tag = argTag, strings.ToLower(p.tok.text)
	case p.tok.kind == tokNumber:
		a.kind, a.Num = argNumber, p.tok.num
	case p.tok.kind == tokString:
		a.kind, a.Strs = argStrings, []string{p.tok.text}
	case p.isPunct("["):
		a.kind, a.isList = argStrings, true
		strs, err := p.stringList()
		a.Strs = strs
		return a, true, err
	default:
		return a, false, nil
	}
	return a, true, p.advance()
}

func (p *parser) stringList() ([]string, error) {
	var out []string
	for {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokString {
			return nil, errorf(p.tok.pos, "expected a string in the list, found %s", p.tok.describe())
		}
		out = append(out, p.tok.text)
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.isPunct("]") {
			return out, p.advance()
		}
		if !p.isPunct(",") {
			return nil, errorf(p.tok.pos, "expected ',' or ']' in the string list, found %s", p.tok.describe())
		}
	}
}

func (p *parser) test() (*Test, error) {
	if p.tok.kind != tokIdent {
		return nil, errorf(p.tok.pos, "expected a test, found %s", p.tok.describe())
	}
	t := &Test{Pos: p.tok.pos, Name: strings.ToLower(p.tok.text)}
	if err := p.nest(t.Pos); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if err := p.advance(); err != nil {
		return nil, err
	}
	var err error
	t.Args, t.Tests, err = p.arguments()
	return t, err
}

func (p *parser) testList() ([]*Test, error) {
	var out []*Test
	for {
		if err := p.advance(); err != nil {
			return nil, err
		}
		t, err := p.test()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		if p.isPunct(")") {
			return out, p.advance()
		}
		if !p.isPunct(",") {
			return nil, errorf(p.tok.pos, "expected ',' or ')' in the test list, found %s", p.tok.describe())
		}
	}
}
