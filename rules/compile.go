package rules

import (
	"errors"
	"fmt"
	"net/textproto"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/sluicemail/sluice/engine"
)

// compileRule builds one engine.Rule from its YAML node, or reports every
// problem with its position.
func compileRule(file string, node ast.Node, lists map[string]*engine.List) (*engine.Rule, ErrorList) {
	line, col := pos(node)
	var doc ruleDoc
	if err := decodeNode(file, node, &doc, yaml.Strict()); err != nil {
		return nil, ErrorList{err}
	}
	r := &engine.Rule{Name: doc.Name, Pos: engine.Position{File: file, Line: line, Col: col}, Score: doc.Score, DKIMSign: doc.DKIMSign}
	var errs ErrorList
	fail := func(l, c int, format string, args ...any) {
		errs = append(errs, &Error{File: file, Line: l, Col: c, Rule: r.Name, Msg: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(doc.Name) == "" {
		fail(line, col, "rule has no name")
	}
	if doc.When != nil {
		src, l, c, ok := scalar(doc.When)
		if !ok {
			fail(l, c, "when must be an expression (a string)")
		} else if compiled, err := engine.Compile(src, true); err != nil {
			el, ec := at(l, c, err)
			fail(el, ec, "%s", cleanMsg(err))
		} else {
			r.When = compiled
			checkLists(compiled.Refs.Lists, lists, func(name string) { fail(l, c, "in_list: no list named %q", name) })
		}
	}
	if doc.Action != nil {
		src, l, c, ok := scalar(doc.Action)
		if !ok {
			fail(l, c, "action must be a string")
		} else if a, off, err := parseAction(src); err != nil {
			fail(l, c+off, "%s", cleanMsg(err))
		} else {
			r.Action = a
		}
	}
	if doc.Tag != nil {
		src, l, c, _ := scalar(doc.Tag)
		if t, err := engine.CompileTemplate(src); err != nil {
			el, ec := at(l, c, err)
			fail(el, ec, "tag: %s", cleanMsg(err))
		} else {
			r.Tag = t
		}
	}
	for _, item := range doc.Headers {
		name := fmt.Sprint(item.Key)
		if !validHeaderName(name) {
			fail(line, col, "headers: %q is not a valid header field name", name)
			continue
		}
		t, err := engine.CompileTemplate(fmt.Sprint(item.Value))
		if err != nil {
			fail(line, col, "headers: %s: %s", name, cleanMsg(err))
			continue
		}
		r.Headers = append(r.Headers, engine.HeaderEdit{Name: textproto.CanonicalMIMEHeaderKey(name), Value: t})
	}
	if doc.Learn != nil {
		src, l, c, _ := scalar(doc.Learn)
		switch src {
		case engine.LearnSpam, engine.LearnHam:
			r.Learn = src
		default:
			fail(l, c, "learn must be %q or %q, not %q", engine.LearnSpam, engine.LearnHam, src)
		}
	}
	r.Stop = r.Action.Kind != ""
	if doc.Stop != nil {
		r.Stop = *doc.Stop
	}
	if r.Action.Kind == "" && r.Score == 0 && len(r.Headers) == 0 && r.Tag == nil && !r.Stop && r.DKIMSign == nil && r.Learn == "" && len(errs) == 0 {
		fail(line, col, "rule does nothing: give it an action, a score, headers, a tag, dkim_sign or learn")
	}
	return r, errs
}

// at maps a compile error's position inside an expression that starts at
// (l, c) in the file to a file position.
func at(l, c int, err error) (int, int) {
	var ce *engine.CompileError
	if !errors.As(err, &ce) {
		return l, c
	}
	if ce.Line <= 1 {
		return l, c + ce.Column - 1
	}
	// Later lines exist only in block scalars, whose lines all start at
	// the block's indentation c.
	return l + ce.Line - 1, c + ce.Column - 1
}

// cleanMsg keeps the first line of an expr error: its later lines repeat
// the source with a caret, which the position already gives.
func cleanMsg(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

func checkLists(used []string, lists map[string]*engine.List, missing func(string)) {
	for _, name := range used {
		if lists[name] == nil {
			missing(name)
		}
	}
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 127 || c == ':' {
			return false
		}
	}
	return true
}
