package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// fileDoc is the shape of one rule file.
type fileDoc struct {
	Pipeline string              `yaml:"pipeline"`
	Lists    map[string]ast.Node `yaml:"lists"`
	Stages   map[string]ast.Node `yaml:"stages"`
	Rules    []ast.Node          `yaml:"rules"`
}

// ruleDoc is the shape of one rule.
type ruleDoc struct {
	Name     string        `yaml:"name"`
	When     ast.Node      `yaml:"when"`
	Action   ast.Node      `yaml:"action"`
	Score    float64       `yaml:"score"`
	Headers  yaml.MapSlice `yaml:"headers"`
	Tag      ast.Node      `yaml:"tag"`
	Stop     *bool         `yaml:"stop"`
	DKIMSign *bool         `yaml:"dkim_sign"`
	Learn    ast.Node      `yaml:"learn"`
}

// parsedFile is a rule file read from disk, before compilation.
type parsedFile struct {
	path string
	doc  fileDoc
}

// decodeNode decodes a YAML node strictly. go-yaml v1.19 panics on some
// malformed input; a broken rule file must be an error, never a crash.
func decodeNode(file string, n ast.Node, v any, opts ...yaml.DecodeOption) (e *Error) {
	defer func() {
		if p := recover(); p != nil {
			l, c := pos(n)
			e = &Error{File: file, Line: l, Col: c, Msg: fmt.Sprintf("cannot decode: %v", p)}
		}
	}()
	if err := yaml.NodeToValue(n, v, opts...); err != nil {
		return yamlError(file, err)
	}
	return nil
}

// readFile parses one rule file strictly (unknown keys are errors).
func readFile(path string) (*parsedFile, *Error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, yamlError(path, err)
	}
	pf := &parsedFile{path: path}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return nil, &Error{File: path, Msg: "empty rule file"}
	}
	if err := decodeNode(path, f.Docs[0].Body, &pf.doc, yaml.Strict()); err != nil {
		return nil, err
	}
	return pf, nil
}

// pos returns the 1-based line and column of a node.
func pos(n ast.Node) (int, int) {
	if n == nil || n.GetToken() == nil {
		return 0, 0
	}
	// A mapping's own token is its first ':'; its first key is where a
	// reader looks.
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
		n = m.Values[0].Key
	}
	if m, ok := n.(*ast.MappingValueNode); ok {
		n = m.Key
	}
	p := n.GetToken().Position
	return p.Line, p.Column
}

// scalar returns the string value of a scalar node and where its text
// starts, adjusted for quotes and block indicators so that an offset
// inside the string maps to a position in the file.
func scalar(n ast.Node) (s string, line, col int, ok bool) {
	line, col = pos(n)
	switch v := n.(type) {
	case *ast.StringNode:
		if q := v.Token.Type; q == token.DoubleQuoteType || q == token.SingleQuoteType {
			col++
		}
		return v.Value, line, col, true
	case *ast.LiteralNode:
		// The text starts on the line after the | or > indicator.
		return v.Value.Value, line + 1, indentOf(v), true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NullNode:
		return n.String(), line, col, true
	}
	return "", line, col, false
}

// indentOf returns the column where the lines of a block scalar start,
// from the raw text of its first non-empty line.
func indentOf(v *ast.LiteralNode) int {
	if v.Value == nil || v.Value.Token == nil {
		return 1
	}
	for _, line := range strings.Split(v.Value.Token.Origin, "\n") {
		if strings.TrimSpace(line) != "" {
			return len(line) - len(strings.TrimLeft(line, " ")) + 1
		}
	}
	return 1
}

// relPath resolves a path written in a file relative to that file.
func relPath(file, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(file), p)
}
