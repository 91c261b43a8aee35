package sieve

// The syntax tree of RFC 5228 section 8.2, before any command is known:
// the parser builds it, the compiler gives it meaning.

// argKind says which of the three argument forms an Arg is.
type argKind int

const (
	argTag argKind = iota
	argNumber
	argStrings
)

// Arg is one argument: a tag, a number or a string list. A single
// string is a list of one with isList false.
type Arg struct {
	Pos    Pos
	kind   argKind
	Tag    string
	Num    int64
	Strs   []string
	isList bool
}

// Test is a test with its arguments and nested tests (allof, anyof,
// not).
type Test struct {
	Pos   Pos
	Name  string
	Args  []Arg
	Tests []*Test
}

// Command is a command with its arguments, its tests (if, elsif) and
// its block (nil when it ends in a semicolon).
type Command struct {
	Pos      Pos
	Name     string
	Args     []Arg
	Tests    []*Test
	Block    []*Command
	hasBlock bool
}
