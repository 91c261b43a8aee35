package sieve

import (
	"net/mail"
	"strings"
	"unicode/utf8"
)

// The actions of RFC 5228 section 4 (keep, discard, redirect), fileinto
// with :create (RFC 5490) and :copy (RFC 3894), and reject/ereject
// (RFC 5429). Each may carry :flags (RFC 5232).

type storeCmd struct {
	mailbox string // "" for keep: INBOX
	flags   []string
	hasFlag bool
	create  bool
	copy    bool
}

func (x *storeCmd) exec(r *run) error {
	a := Action{Kind: ActStore, Mailbox: "INBOX", Create: x.create, Copy: x.copy}
	if x.mailbox != "" {
		a.Mailbox = r.expand(x.mailbox)
		if !utf8.ValidString(a.Mailbox) || a.Mailbox == "" {
			return &RuntimeError{Msg: "fileinto: invalid mailbox name " + a.Mailbox}
		}
	}
	if x.hasFlag {
		a.Flags = flagList(r.expandList(x.flags)...)
	} else {
		a.Flags = flagList(r.flags)
	}
	return r.add(a)
}

type redirectCmd struct {
	addr string
	copy bool
}

func (x *redirectCmd) exec(r *run) error {
	addr, err := redirectAddress(r.expand(x.addr))
	if err != nil {
		return &RuntimeError{Msg: err.Error()}
	}
	return r.add(Action{Kind: ActRedirect, Address: addr, Copy: x.copy})
}

// redirectAddress checks an address as RFC 5228 section 4.2 asks and
// returns its bare form.
func redirectAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", errorf(Pos{}, "redirect: invalid address '%s'", s)
	}
	return a.Address, nil
}

type discardCmd struct{}

func (discardCmd) exec(r *run) error { return r.add(Action{Kind: ActDiscard}) }

type rejectCmd struct {
	reason   string
	extended bool
}

func (x *rejectCmd) exec(r *run) error {
	return r.add(Action{Kind: ActReject, Reason: r.expand(x.reason), Extended: x.extended})
}

var flagsTag = tagSpec{name: "flags", val: valStrings, ext: "imap4flags"}

func init() {
	commands["keep"] = cmdSpec{args: argSpec{tags: []tagSpec{flagsTag}}, build: buildStore}
	commands["fileinto"] = cmdSpec{ext: "fileinto", args: argSpec{
		tags: []tagSpec{flagsTag, {name: "copy", ext: "copy"}, {name: "create", ext: "mailbox"}},
		pos:  []valKind{valString},
	}, build: buildStore}
	commands["redirect"] = cmdSpec{args: argSpec{
		tags: []tagSpec{{name: "copy", ext: "copy"}},
		pos:  []valKind{valString},
	}, build: func(c *compiler, b *bound) (command, error) {
		addr := b.args[0].Strs[0]
		if !c.has("variables") || !strings.Contains(addr, "${") {
			if _, err := redirectAddress(addr); err != nil {
				return nil, errorf(b.args[0].Pos, "%s", err.(*Error).Msg)
			}
		}
		return &redirectCmd{addr: addr, copy: b.has("copy")}, nil
	}}
	commands["discard"] = cmdSpec{build: func(*compiler, *bound) (command, error) { return discardCmd{}, nil }}
	for _, name := range []string{"reject", "ereject"} {
		commands[name] = cmdSpec{ext: name, args: argSpec{pos: []valKind{valString}},
			build: func(c *compiler, b *bound) (command, error) {
				return &rejectCmd{reason: b.args[0].Strs[0], extended: b.name == "ereject"}, nil
			}}
	}
}

func buildStore(c *compiler, b *bound) (command, error) {
	x := &storeCmd{create: b.has("create"), copy: b.has("copy")}
	if len(b.args) > 0 {
		x.mailbox = b.args[0].Strs[0]
		if x.mailbox == "" {
			return nil, errorf(b.args[0].Pos, "fileinto: empty mailbox name")
		}
	}
	if b.has("flags") {
		x.hasFlag, x.flags = true, b.tags["flags"].Strs
	}
	return x, nil
}
