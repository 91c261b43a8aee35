package sieve

// The control commands of RFC 5228 section 3: if/elsif/else and stop
// (require is handled by the compiler).

type branch struct {
	cond test // nil for else
	body []command
}

type ifCmd struct {
	branches []branch
}

func (x *ifCmd) exec(r *run) error {
	for _, b := range x.branches {
		ok := true
		if b.cond != nil {
			var err error
			if ok, err = r.eval(b.cond); err != nil {
				return err
			}
		}
		if ok {
			return r.block(b.body)
		}
	}
	return nil
}

type stopCmd struct{}

func (stopCmd) exec(*run) error { return errStop }

func init() {
	commands["if"] = cmdSpec{block: true, tests: 1, build: func(c *compiler, b *bound) (command, error) {
		x := &ifCmd{}
		return x, c.addBranch(x, b.cmd)
	}}
	commands["stop"] = cmdSpec{build: func(*compiler, *bound) (command, error) { return stopCmd{}, nil }}
}

// addBranch compiles an if, elsif or else into x.
func (c *compiler) addBranch(x *ifCmd, cmd *Command) error {
	if n := len(x.branches); n > 0 && x.branches[n-1].cond == nil {
		return errorf(cmd.Pos, "%s after else", cmd.Name)
	}
	if len(cmd.Args) > 0 {
		return errorf(cmd.Args[0].Pos, "%s takes no arguments", cmd.Name)
	}
	if !cmd.hasBlock {
		return errorf(cmd.Pos, "%s needs a block", cmd.Name)
	}
	var br branch
	switch {
	case cmd.Name == "else" && len(cmd.Tests) > 0:
		return errorf(cmd.Pos, "else takes no test")
	case cmd.Name != "else" && len(cmd.Tests) != 1:
		return errorf(cmd.Pos, "%s needs one test", cmd.Name)
	case cmd.Name != "else":
		t, err := c.test(cmd.Tests[0])
		if err != nil {
			return err
		}
		br.cond = t
	}
	body, err := c.block(cmd.Block, false)
	if err != nil {
		return err
	}
	br.body = body
	x.branches = append(x.branches, br)
	return nil
}
