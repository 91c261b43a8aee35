package sieve

import (
	"strings"
)

// imap4flags (RFC 5232): setflag, addflag, removeflag, the hasflag test,
// the :flags argument of keep and fileinto, and the internal variable
// that gives the implicit keep its flags.

// systemFlags in the order Pigeonhole prints them.
var systemFlags = []string{`\flagged`, `\answered`, `\deleted`, `\seen`, `\draft`}

// flagList splits flag strings on spaces and returns each flag once:
// system flags first, in their order and lower case, then keywords in
// the order given. Unknown system flags are dropped, as IMAP would
// refuse them.
func flagList(parts ...string) []string {
	have := map[string]bool{}
	var kw []string
	for _, p := range parts {
		for _, f := range strings.Fields(p) {
			lf := strings.ToLower(f)
			if have[lf] {
				continue
			}
			have[lf] = true
			if !strings.HasPrefix(f, `\`) {
				kw = append(kw, f)
			}
		}
	}
	var out []string
	for _, s := range systemFlags {
		if have[s] {
			out = append(out, s)
		}
	}
	return append(out, kw...)
}

type flagCmd struct {
	op    string // setflag, addflag, removeflag
	vname string // "" for the internal variable
	flags []string
}

func (x *flagCmd) exec(r *run) error {
	cur := r.flags
	if x.vname != "" {
		cur = r.vars[strings.ToLower(x.vname)]
	}
	given := flagList(r.expandList(x.flags)...)
	var next []string
	switch x.op {
	case "setflag":
		next = given
	case "addflag":
		next = flagList(append([]string{cur}, given...)...)
	case "removeflag":
		drop := map[string]bool{}
		for _, f := range given {
			drop[strings.ToLower(f)] = true
		}
		for _, f := range flagList(cur) {
			if !drop[strings.ToLower(f)] {
				next = append(next, f)
			}
		}
	}
	s := strings.Join(next, " ")
	if x.vname != "" {
		r.setVar(x.vname, s)
	} else {
		r.flags = s
	}
	return nil
}

type hasflagTest struct {
	m     matcher
	vars  []string
	flags []string
}

func (t *hasflagTest) eval(r *run) (bool, error) {
	var values []string
	if len(t.vars) == 0 {
		values = flagList(r.flags)
	} else {
		for _, v := range t.vars {
			values = append(values, flagList(r.vars[strings.ToLower(v)])...)
		}
	}
	if t.m.mt == mtCount {
		return r.match(t.m, values, t.flags), nil
	}
	var keys []string
	for _, k := range t.flags {
		keys = append(keys, strings.Fields(r.expand(k))...)
	}
	return r.match(t.m, values, keys), nil
}

func init() {
	for _, op := range []string{"setflag", "addflag", "removeflag"} {
		commands[op] = cmdSpec{ext: "imap4flags", args: argSpec{pos: []valKind{valString, valStrings}, optFirst: 1},
			build: func(c *compiler, b *bound) (command, error) {
				x := &flagCmd{op: b.name, flags: b.args[len(b.args)-1].Strs}
				if len(b.args) == 2 {
					if !c.has("variables") {
						return nil, errorf(b.args[0].Pos, "%s: a variable name needs require \"variables\"", b.name)
					}
					x.vname = b.args[0].Strs[0]
				}
				return x, nil
			}}
	}
	tests["hasflag"] = testSpec{ext: "imap4flags", args: argSpec{tags: matchTags, pos: []valKind{valStrings, valStrings}, optFirst: 1},
		build: func(c *compiler, b *bound) (test, error) {
			m, err := c.matcher(b)
			t := &hasflagTest{m: m, flags: b.args[len(b.args)-1].Strs}
			if len(b.args) == 2 {
				t.vars = b.args[0].Strs
			}
			return t, err
		}}
}
