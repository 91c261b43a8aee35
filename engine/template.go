package engine

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr/vm"
)

// Template is text with {{ expression }} interpolations, each compiled
// against Facts at load so that a misspelt fact in a reply text is a load
// error like any other.
type Template struct {
	Source string
	parts  []templatePart
	Refs   Refs
}

type templatePart struct {
	lit  string
	prog *vm.Program
}

// CompileTemplate compiles the interpolations of s. The error's position is
// relative to s.
func CompileTemplate(s string) (*Template, error) {
	t := &Template{Source: s, Refs: Refs{Namespaces: map[string]bool{}, Fields: map[string]bool{}}}
	rest := s
	offset := 0
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			t.parts = append(t.parts, templatePart{lit: rest})
			return t, nil
		}
		end := strings.Index(rest[open:], "}}")
		if end < 0 {
			return nil, &CompileError{Line: 1, Column: offset + open + 1, Msg: "unclosed {{ in text"}
		}
		t.parts = append(t.parts, templatePart{lit: rest[:open]})
		src := rest[open+2 : open+end]
		c, err := Compile(strings.TrimSpace(src), false)
		if err != nil {
			ce, _ := err.(*CompileError)
			if ce == nil {
				ce = &CompileError{Msg: err.Error()}
			}
			return nil, &CompileError{Line: 1, Column: offset + open + 3 + ce.Column, Msg: "in {{" + src + "}}: " + ce.Msg}
		}
		t.merge(c.Refs)
		t.parts = append(t.parts, templatePart{prog: c.Program})
		offset += open + end + 2
		rest = rest[open+end+2:]
	}
}

func (t *Template) merge(r Refs) {
	for k := range r.Namespaces {
		t.Refs.Namespaces[k] = true
	}
	for k := range r.Fields {
		t.Refs.Fields[k] = true
	}
	t.Refs.Lists = append(t.Refs.Lists, r.Lists...)
}

// Render evaluates the interpolations against f.
func (t *Template) Render(machine *vm.VM, f *Facts) (string, error) {
	if t == nil {
		return "", nil
	}
	if len(t.parts) == 1 && t.parts[0].prog == nil {
		return t.parts[0].lit, nil
	}
	var sb strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			sb.WriteString(p.lit)
			continue
		}
		v, err := machine.Run(p.prog, f)
		if err != nil {
			return "", err
		}
		fmt.Fprint(&sb, v)
	}
	return sb.String(), nil
}
