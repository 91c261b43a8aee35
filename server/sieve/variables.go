package sieve

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Variables (RFC 5229): ${name} and the match variables ${0}..${9} in
// strings, the set command with its modifiers and the string test.

// maxVarSize bounds a variable's value, as Pigeonhole's default.
const maxVarSize = 4096

// expand substitutes variables in s when the script requires variables.
func (r *run) expand(s string) string {
	if !r.s.requires["variables"] || !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		name := s[i+2 : i+end]
		if v, ok := r.lookup(name); ok {
			b.WriteString(v)
			s = s[i+end+1:]
		} else {
			b.WriteString("${")
			s = s[i+2:]
		}
	}
}

// lookup returns a variable's value; ok is false when name is not a
// variable reference at all, which then stays as written.
func (r *run) lookup(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	if isDigit(name[0]) {
		n, err := strconv.Atoi(name)
		if err != nil {
			return "", false
		}
		if n < len(r.matchVars) {
			return r.matchVars[n], true
		}
		return "", true
	}
	if !validVarName(name) {
		return "", false
	}
	return r.vars[strings.ToLower(name)], true
}

func validVarName(n string) bool {
	if n == "" || !(isAlpha(n[0]) || n[0] == '_') {
		return false
	}
	for i := 1; i < len(n); i++ {
		if c := n[i]; !isAlpha(c) && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

func (r *run) expandList(l []string) []string {
	if !r.s.requires["variables"] {
		return l
	}
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = r.expand(s)
	}
	return out
}

func (r *run) setVar(name, value string) {
	if len(value) > maxVarSize {
		value = value[:maxVarSize]
		for !utf8.ValidString(value) {
			value = value[:len(value)-1]
		}
	}
	r.vars[strings.ToLower(name)] = value
}

type setCmd struct {
	name, value string
	mods        []string // in order of application
}

func (x *setCmd) exec(r *run) error {
	v := r.expand(x.value)
	for _, m := range x.mods {
		v = modify(m, v)
	}
	r.setVar(x.name, v)
	return nil
}

// modify applies one set modifier (RFC 5229 section 4.1).
func modify(mod, v string) string {
	switch mod {
	case "lower":
		return strings.ToLower(v)
	case "upper":
		return strings.ToUpper(v)
	case "lowerfirst", "upperfirst":
		r, n := utf8.DecodeRuneInString(v)
		if n == 0 {
			return v
		}
		if mod == "lowerfirst" {
			return strings.ToLower(string(r)) + v[n:]
		}
		return strings.ToUpper(string(r)) + v[n:]
	case "quotewildcard":
		return quoteWildcards(v)
	case "length":
		return strconv.Itoa(utf8.RuneCountInString(v))
	}
	return v
}

// modPrecedence orders the modifiers: higher applies first; equal ones
// cannot be combined.
var modPrecedence = map[string]int{
	"lower": 40, "upper": 40, "lowerfirst": 30, "upperfirst": 30,
	"quotewildcard": 20, "length": 10,
}

type stringTest struct {
	m            matcher
	values, keys []string
}

func (t *stringTest) eval(r *run) (bool, error) {
	vals := r.expandList(t.values)
	if t.m.mt == mtCount {
		// RFC 5229 section 5: :count counts the non-empty strings.
		var ne []string
		for _, v := range vals {
			if v != "" {
				ne = append(ne, v)
			}
		}
		vals = ne
	}
	return r.match(t.m, vals, t.keys), nil
}

func init() {
	var modTags []tagSpec
	for m := range modPrecedence {
		modTags = append(modTags, tagSpec{name: m})
	}
	commands["set"] = cmdSpec{ext: "variables", args: argSpec{tags: modTags, pos: []valKind{valString, valString}},
		build: func(c *compiler, b *bound) (command, error) {
			x := &setCmd{name: b.args[0].Strs[0], value: b.args[1].Strs[0]}
			if !validVarName(x.name) {
				return nil, errorf(b.args[0].Pos, "set: invalid variable name '%s'", x.name)
			}
			for m := range b.tags {
				for _, o := range x.mods {
					if modPrecedence[o] == modPrecedence[m] {
						return nil, errorf(b.pos, "set: :%s conflicts with :%s", m, o)
					}
				}
				x.mods = append(x.mods, m)
			}
			sortMods(x.mods)
			return x, nil
		}}
	tests["string"] = testSpec{ext: "variables", args: argSpec{tags: matchTags, pos: []valKind{valStrings, valStrings}},
		build: func(c *compiler, b *bound) (test, error) {
			m, err := c.matcher(b)
			return &stringTest{m: m, values: b.args[0].Strs, keys: b.args[1].Strs}, err
		}}
}

func sortMods(m []string) {
	for i := 1; i < len(m); i++ {
		for j := i; j > 0 && modPrecedence[m[j]] > modPrecedence[m[j-1]]; j-- {
			m[j], m[j-1] = m[j-1], m[j]
		}
	}
}

func containsVar(s string) bool { return strings.Contains(s, "${") }
