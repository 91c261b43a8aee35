package sieve

import "strings"

// valKind is what a tag takes after it or what a positional argument
// must be.
type valKind int

const (
	valNone valKind = iota
	valString
	valStrings
	valNumber
)

func (v valKind) String() string {
	return [...]string{"nothing", "a string", "a string list", "a number"}[v]
}

// tagSpec describes one tagged argument of a command or test.
type tagSpec struct {
	name  string
	val   valKind
	ext   string // required extension, "" for the base language
	group string // at most one tag of a group; "" for none
}

// argSpec lists a command's or test's tags and its positional arguments;
// optional positional arguments come first (as in imap4flags' variable).
type argSpec struct {
	tags     []tagSpec
	pos      []valKind
	optFirst int // how many leading positional arguments may be left out
	optLast  int // how many trailing ones may (deleteheader's value patterns)
}

// bound holds the arguments of one command or test once matched to its
// spec: tags by name, group members under the group too.
type bound struct {
	name  string
	pos   Pos
	tags  map[string]Arg
	group map[string]string // group → the tag given
	args  []Arg
	cmd   *Command
	test  *Test
}

func (b *bound) has(tag string) bool { _, ok := b.tags[tag]; return ok }
func (b *bound) str(tag string) string {
	if a, ok := b.tags[tag]; ok && len(a.Strs) > 0 {
		return a.Strs[0]
	}
	return ""
}

// bind matches args against spec.
func (c *compiler) bind(name string, pos Pos, args []Arg, spec argSpec) (*bound, error) {
	b := &bound{name: name, pos: pos, tags: map[string]Arg{}, group: map[string]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a.kind != argTag {
			b.args = append(b.args, a)
			continue
		}
		if len(b.args) > 0 {
			return nil, errorf(a.Pos, "%s: tag :%s after a positional argument", name, a.Tag)
		}
		ts, ok := findTag(spec.tags, a.Tag)
		if !ok || !c.has(ts.ext) {
			return nil, errorf(a.Pos, "unknown tagged argument ':%s' for %s", a.Tag, name)
		}
		if _, dup := b.tags[a.Tag]; dup {
			return nil, errorf(a.Pos, "%s: tag :%s given twice", name, a.Tag)
		}
		if ts.group != "" {
			if other, dup := b.group[ts.group]; dup {
				return nil, errorf(a.Pos, "%s: :%s conflicts with :%s", name, a.Tag, other)
			}
			b.group[ts.group] = a.Tag
		}
		v := a
		if ts.val != valNone {
			if i+1 >= len(args) || !fits(args[i+1], ts.val) {
				return nil, errorf(a.Pos, "%s: :%s needs %s", name, a.Tag, ts.val)
			}
			i++
			v = args[i]
		}
		b.tags[a.Tag] = v
	}
	n := len(b.args)
	if n > len(spec.pos) || n < len(spec.pos)-spec.optFirst-spec.optLast {
		return nil, errorf(pos, "%s takes %d positional arguments, not %d", name, len(spec.pos), n)
	}
	kinds := spec.pos[len(spec.pos)-n:]
	if spec.optLast > 0 {
		kinds = spec.pos[:n]
	}
	for i, a := range b.args {
		if !fits(a, kinds[i]) {
			return nil, errorf(a.Pos, "%s: argument %d must be %s", name, i+1, kinds[i])
		}
	}
	if c.has("encoded-character") {
		if err := decodeArgs(b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func findTag(specs []tagSpec, name string) (tagSpec, bool) {
	for _, t := range specs {
		if t.name == name {
			return t, true
		}
	}
	return tagSpec{}, false
}

func fits(a Arg, k valKind) bool {
	switch k {
	case valString:
		return a.kind == argStrings && !a.isList && len(a.Strs) == 1
	case valStrings:
		return a.kind == argStrings
	case valNumber:
		return a.kind == argNumber
	}
	return false
}

// decodeArgs replaces ${hex:...} and ${unicode:...} in every string
// (RFC 5228 section 2.4.2.4).
func decodeArgs(b *bound) error {
	fix := func(a *Arg) error {
		for i, s := range a.Strs {
			if strings.Contains(s, "${") {
				d, err := decodeEncoded(s)
				if err != nil {
					return errorf(a.Pos, "%s: %v", b.name, err)
				}
				a.Strs[i] = d
			}
		}
		return nil
	}
	for i := range b.args {
		if err := fix(&b.args[i]); err != nil {
			return err
		}
	}
	for k, a := range b.tags {
		if err := fix(&a); err != nil {
			return err
		}
		b.tags[k] = a
	}
	return nil
}
