package rules

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/sluicemail/sluice/engine"
)

// listDoc is the file form of a list: `{file: lists/blocked.txt}`.
type listDoc struct {
	File string `yaml:"file"`
}

// loadList reads a list given inline (a sequence) or from a file (one entry
// a line, # comments). It returns the files it read, so the watcher can
// reload when they change.
func loadList(ruleFile, name string, node ast.Node) (*engine.List, []string, *Error) {
	l, c := pos(node)
	fail := func(format string, args ...any) *Error {
		return &Error{File: ruleFile, Line: l, Col: c, Msg: fmt.Sprintf("list %q: ", name) + fmt.Sprintf(format, args...)}
	}
	if seq, ok := node.(*ast.SequenceNode); ok {
		var entries []string
		if err := decodeNode(ruleFile, seq, &entries); err != nil {
			return nil, nil, err
		}
		list, err := engine.NewList(name, entries)
		if err != nil {
			return nil, nil, fail("%v", err)
		}
		return list, nil, nil
	}
	var doc listDoc
	if err := decodeNode(ruleFile, node, &doc, yaml.Strict()); err != nil {
		return nil, nil, fail("want a list of entries or {file: PATH}: %v", err.Msg)
	}
	if doc.File == "" {
		return nil, nil, fail("want a list of entries or {file: PATH}")
	}
	path := relPath(ruleFile, doc.File)
	entries, err := readListFile(path)
	if err != nil {
		return nil, nil, fail("%v", err)
	}
	list, err := engine.NewList(name, entries)
	if err != nil {
		return nil, nil, fail("%s: %v", path, err)
	}
	return list, []string{path}, nil
}

func readListFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var entries []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			entries = append(entries, line)
		}
	}
	return entries, sc.Err()
}
