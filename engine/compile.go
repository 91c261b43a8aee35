package engine

import (
	"fmt"
	"net/netip"
	"reflect"
	"sort"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Refs is what a compiled expression reads, found by walking its AST. The
// engine uses it to run only the stages a reached rule needs, and to know
// the earliest phase at which the rule can be evaluated.
type Refs struct {
	Namespaces map[string]bool // top-level names: conn, spf, score, header, ...
	Fields     map[string]bool // "envelope.rcpt", "msg.text", ...
	Lists      []string        // constant list names passed to in_list
}

// Compiled is one compiled expression and what it reads.
type Compiled struct {
	Program *vm.Program
	Refs    Refs
}

// CompileError is an expr compile error with its position inside the
// expression (1-based line and column).
type CompileError struct {
	Line, Column int
	Msg          string
}

func (e *CompileError) Error() string { return e.Msg }

// Compile compiles an expression against the Facts environment. With
// asBool the result must be a bool (a rule's when); otherwise any type is
// accepted (an interpolation). Calls to in_list must name their list with a
// constant string, and cidr's network must be a valid constant CIDR, so that
// those mistakes too are found at load.
func Compile(src string, asBool bool) (*Compiled, error) {
	opts := []expr.Option{expr.Env(Facts{})}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, toCompileError(err)
	}
	c := &Compiled{Program: prog, Refs: Refs{Namespaces: map[string]bool{}, Fields: map[string]bool{}}}
	w := &refWalker{refs: &c.Refs, src: src}
	node := prog.Node()
	ast.Walk(&node, w)
	if w.err != nil {
		return nil, w.err
	}
	sort.Strings(c.Refs.Lists)
	return c, nil
}

func toCompileError(err error) error {
	if fe, ok := err.(*file.Error); ok {
		return &CompileError{Line: fe.Line, Column: fe.Column + 1, Msg: fe.Message}
	}
	return &CompileError{Line: 1, Column: 1, Msg: err.Error()}
}

type refWalker struct {
	refs *Refs
	src  string
	err  error
}

func (w *refWalker) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		w.refs.Namespaces[n.Value] = true
	case *ast.MemberNode:
		if id, ok := n.Node.(*ast.IdentifierNode); ok {
			if p, ok := n.Property.(*ast.StringNode); ok {
				w.refs.Fields[id.Value+"."+p.Value] = true
			}
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		switch id.Value {
		case "in_list":
			if s, ok := n.Arguments[0].(*ast.StringNode); ok {
				w.refs.Lists = append(w.refs.Lists, s.Value)
			} else {
				w.fail(n, "in_list: the list name must be a constant string")
			}
		case "rate_exceeded", "rate_exceeded_by":
			w.checkRate(n)
		case "cidr":
			if s, ok := n.Arguments[1].(*ast.StringNode); ok {
				if _, err := netip.ParsePrefix(s.Value); err != nil {
					w.fail(n, fmt.Sprintf("cidr: %q is not a network (want e.g. 10.0.0.0/8)", s.Value))
				}
			}
		}
	}
}

// checkRate wants a constant name and a constant, valid limit, so that a
// misspelt limit is found at load and the counters have stable names.
func (w *refWalker) checkRate(n *ast.CallNode) {
	if len(n.Arguments) < 3 {
		return // expr reports the arity
	}
	if _, ok := n.Arguments[0].(*ast.StringNode); !ok {
		w.fail(n, "rate_exceeded: the limit's name must be a constant string")
		return
	}
	s, ok := n.Arguments[2].(*ast.StringNode)
	if !ok {
		w.fail(n, "rate_exceeded: the limit must be a constant string such as \"100/h\"")
		return
	}
	if _, err := ParseRate(s.Value); err != nil {
		w.fail(n, "rate_exceeded: "+err.Error())
	}
}

func (w *refWalker) fail(n ast.Node, msg string) {
	if w.err == nil {
		line, col := position(w.src, n.Location().From)
		w.err = &CompileError{Line: line, Column: col, Msg: msg}
	}
}

// EnvField describes one name of the rule environment for `sluice rules env`.
type EnvField struct {
	Name string // dotted, e.g. dnsbl.hits
	Type string // expr-facing type, e.g. []DNSBLHit
	Doc  string
}

// Environment lists every namespace, field and function the rules can use,
// from the Facts struct and its doc tags.
func Environment() []EnvField {
	var out []EnvField
	describe(reflect.TypeOf(Facts{}), "", &out, 0)
	return out
}

func describe(t reflect.Type, prefix string, out *[]EnvField, depth int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("expr")
		if name == "" {
			continue
		}
		*out = append(*out, EnvField{Name: prefix + name, Type: typeName(f.Type), Doc: f.Tag.Get("doc")})
		ft := f.Type
		if ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && depth < 2 {
			sep := "."
			if f.Type.Kind() == reflect.Slice {
				sep = "[]."
			}
			describe(ft, prefix+name+sep, out, depth+1)
		}
	}
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "[]" + typeName(t.Elem())
	case reflect.Func:
		s := "func("
		for i := 0; i < t.NumIn(); i++ {
			if i > 0 {
				s += ", "
			}
			s += typeName(t.In(i))
		}
		return s + ") " + typeName(t.Out(0))
	case reflect.Struct:
		return "struct"
	}
	return t.Kind().String()
}

// position turns a rune offset into a 1-based line and column.
func position(src string, offset int) (line, col int) {
	line, col = 1, 1
	i := 0
	for _, r := range src {
		if i == offset {
			break
		}
		i++
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
