package migrate

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// logicalLine is one entry of a Postfix table source: its first physical
// line number and its text with continuation lines joined.
type logicalLine struct {
	Line int
	Text string
}

// readLogical reads a Postfix table source the way postmap(1) and
// regexp_table(5) do: # comments and blank lines are skipped, a line
// starting with white space continues the one before.
func readLogical(r io.Reader) ([]logicalLine, []LineError, error) {
	var lines []logicalLine
	var bad []LineError
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		t := strings.TrimSpace(line)
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
		case line[0] == ' ' || line[0] == '\t':
			if len(lines) == 0 {
				bad = append(bad, LineError{n, "continuation line without an entry before it"})
				continue
			}
			lines[len(lines)-1].Text += " " + t
		default:
			lines = append(lines, logicalLine{n, t})
		}
	}
	return lines, bad, sc.Err()
}

// AccessEntry is one "key action" line of an access(5) or cidr_table(5)
// source.
type AccessEntry struct {
	Line        int
	Key, Action string
}

// ParseAccessTable reads an access(5) table source (hash, lmdb, cdb,
// texthash…) or a cidr_table(5): "key action [text]".
func ParseAccessTable(r io.Reader) ([]AccessEntry, []LineError, error) {
	lines, bad, err := readLogical(r)
	var out []AccessEntry
	for _, l := range lines {
		key, action, _ := strings.Cut(strings.Join(strings.Fields(l.Text), " "), " ")
		if action == "" {
			bad = append(bad, LineError{l.Line, fmt.Sprintf("%q has no action", key)})
			continue
		}
		out = append(out, AccessEntry{Line: l.Line, Key: key, Action: action})
	}
	return out, bad, err
}

// RegexpEntry is one "/pattern/flags action" line of a regexp_table(5)
// or pcre_table(5).
type RegexpEntry struct {
	Line    int
	Pattern string // as written between the delimiters
	Flags   string
	Negate  bool // written !/pattern/
	Action  string
}

// ParseRegexpTable reads a regexp_table(5) or pcre_table(5). if/endif
// blocks are reported as lines it cannot read, since their entries only
// apply inside the block.
func ParseRegexpTable(r io.Reader) ([]RegexpEntry, []LineError, error) {
	lines, bad, err := readLogical(r)
	var out []RegexpEntry
	depth := 0
	for _, l := range lines {
		switch strings.ToLower(strings.Fields(l.Text)[0]) {
		case "if", "!if":
			depth++
			bad = append(bad, LineError{l.Line, "if/endif blocks are not translated"})
			continue
		case "endif":
			depth = max(depth-1, 0)
			continue
		}
		if depth > 0 {
			bad = append(bad, LineError{l.Line, "inside an if/endif block, not translated"})
			continue
		}
		e, why := parseRegexpLine(l)
		if why != "" {
			bad = append(bad, LineError{l.Line, why})
			continue
		}
		out = append(out, e)
	}
	return out, bad, err
}

func parseRegexpLine(l logicalLine) (RegexpEntry, string) {
	e := RegexpEntry{Line: l.Line}
	s := l.Text
	if strings.HasPrefix(s, "!") {
		e.Negate, s = true, s[1:]
	}
	if s == "" || strings.ContainsAny(s[:1], " \t\\") {
		return e, "not a /pattern/ line"
	}
	delim := s[0]
	end := -1
	for i := 1; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == delim {
			end = i
			break
		}
	}
	if end < 0 {
		return e, "pattern without its closing delimiter"
	}
	e.Pattern = s[1:end]
	rest := s[end+1:]
	i := strings.IndexAny(rest, " \t")
	if i < 0 {
		return e, "pattern without an action"
	}
	e.Flags, e.Action = rest[:i], strings.TrimSpace(rest[i:])
	return e, ""
}

// readTable opens path and parses it with parse.
func readTable[T any](path string, parse func(io.Reader) ([]T, []LineError, error)) ([]T, []LineError, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return parse(f)
}
