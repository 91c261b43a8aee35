package sieve

import "strings"

// The tests of RFC 5228 section 5: true, false, not, allof, anyof,
// exists, size and header (address and envelope are in address.go).

type constTest bool

func (t constTest) eval(*run) (bool, error) { return bool(t), nil }

type notTest struct{ t test }

func (t notTest) eval(r *run) (bool, error) {
	ok, err := r.eval(t.t)
	return !ok, err
}

// listTest is allof (all true) or anyof (any true), short-circuited.
type listTest struct {
	all   bool
	tests []test
}

func (t *listTest) eval(r *run) (bool, error) {
	for _, x := range t.tests {
		ok, err := r.eval(x)
		if err != nil || ok != t.all {
			return ok, err
		}
	}
	return t.all, nil
}

type existsTest struct{ names []string }

func (t *existsTest) eval(r *run) (bool, error) {
	for _, n := range r.expandList(t.names) {
		if !r.env.Msg.Header.Has(n) {
			return false, nil
		}
	}
	return true, nil
}

type sizeTest struct {
	over bool
	n    int64
}

func (t *sizeTest) eval(r *run) (bool, error) {
	size := int64(r.env.Msg.Size)
	if t.over {
		return size > t.n, nil
	}
	return size < t.n, nil
}

type headerTest struct {
	m     matcher
	names []string
	keys  []string
}

func (t *headerTest) eval(r *run) (bool, error) {
	var values []string
	for _, n := range r.expandList(t.names) {
		values = append(values, r.env.Msg.headerValues(n)...)
	}
	return r.match(t.m, values, t.keys), nil
}

func init() {
	tests["true"] = testSpec{build: func(*compiler, *bound) (test, error) { return constTest(true), nil }}
	tests["false"] = testSpec{build: func(*compiler, *bound) (test, error) { return constTest(false), nil }}
	tests["not"] = testSpec{tests: 1, build: func(c *compiler, b *bound) (test, error) {
		t, err := c.test(b.test.Tests[0])
		return notTest{t}, err
	}}
	for _, name := range []string{"allof", "anyof"} {
		tests[name] = testSpec{tests: -1, build: func(c *compiler, b *bound) (test, error) {
			ts, err := c.tests(b.test.Tests)
			return &listTest{all: b.name == "allof", tests: ts}, err
		}}
	}
	tests["exists"] = testSpec{args: argSpec{pos: []valKind{valStrings}}, build: func(c *compiler, b *bound) (test, error) {
		return &existsTest{names: b.args[0].Strs}, checkHeaderNames(c, b.args[0])
	}}
	tests["size"] = testSpec{args: argSpec{
		tags: []tagSpec{{name: "over", group: "size"}, {name: "under", group: "size"}},
		pos:  []valKind{valNumber},
	}, build: func(c *compiler, b *bound) (test, error) {
		if b.group["size"] == "" {
			return nil, errorf(b.pos, "size needs :over or :under")
		}
		return &sizeTest{over: b.has("over"), n: b.args[0].Num}, nil
	}}
	tests["header"] = testSpec{args: argSpec{tags: matchTags, pos: []valKind{valStrings, valStrings}},
		build: func(c *compiler, b *bound) (test, error) {
			m, err := c.matcher(b)
			if err != nil {
				return nil, err
			}
			return &headerTest{m: m, names: b.args[0].Strs, keys: b.args[1].Strs}, checkHeaderNames(c, b.args[0])
		}}
}

// checkHeaderNames refuses header names that cannot be field names (RFC
// 5322 section 3.6.8), unless a variable may fill them at run time.
func checkHeaderNames(c *compiler, a Arg) error {
	for _, n := range a.Strs {
		if c.has("variables") && strings.Contains(n, "${") {
			continue
		}
		if n == "" || strings.IndexFunc(n, func(r rune) bool { return r <= ' ' || r > '~' || r == ':' }) >= 0 {
			return errorf(a.Pos, "invalid header name '%s'", n)
		}
	}
	return nil
}
