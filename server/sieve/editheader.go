package sieve

import (
	"bytes"
	"mime"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// editheader (RFC 5293): addheader and deleteheader change the message
// that later tests see and that later actions store or send. Received
// and Auto-Submitted cannot be deleted, as in Pigeonhole (section 7 of
// the RFC: the trace and loop-prevention fields must survive).

var protectedDelete = map[string]bool{"received": true, "auto-submitted": true}

// editable gives the run its own copy of the message before the first
// edit, so that the caller's stays as it came.
func (r *run) editable() *Message {
	if !r.edited {
		m := *r.env.Msg
		m.Header = r.env.Msg.Header.Copy()
		m.parts = nil
		r.env.Msg = &m
		r.edited = true
	}
	return r.env.Msg
}

// currentRaw is the message as edited so far, for an action to carry;
// nil when nothing was edited.
func (r *run) currentRaw() []byte {
	if !r.edited {
		return nil
	}
	var b bytes.Buffer
	textproto.WriteHeader(&b, r.env.Msg.Header)
	b.Write(r.env.Msg.Body)
	return b.Bytes()
}

type addHeaderCmd struct {
	name, value string
	last        bool
}

func (x *addHeaderCmd) exec(r *run) error {
	name, value := r.expand(x.name), r.expand(x.value)
	if !validFieldName(name) {
		return &RuntimeError{Msg: "addheader: invalid field name " + name}
	}
	if !isASCII(value) {
		value = mime.QEncoding.Encode("utf-8", value)
	}
	value = strings.NewReplacer("\r", "", "\n", "").Replace(value)
	m := r.editable()
	m.Size += len(name) + len(value) + 4
	if !x.last {
		m.Header.Add(name, value) // go-message adds at the top
		return nil
	}
	var raws [][]byte
	fields := m.Header.Fields()
	for fields.Next() {
		raw, err := fields.Raw()
		if err != nil {
			return &RuntimeError{Msg: "addheader: " + err.Error()}
		}
		raws = append(raws, raw)
	}
	var h textproto.Header
	h.Add(name, value)
	for i := len(raws) - 1; i >= 0; i-- {
		h.AddRaw(raws[i])
	}
	m.Header = h
	return nil
}

type deleteHeaderCmd struct {
	m        matcher
	name     string
	index    int // 0: every occurrence
	last     bool
	patterns []string // nil: whatever the value
}

func (x *deleteHeaderCmd) exec(r *run) error {
	name := r.expand(x.name)
	if protectedDelete[strings.ToLower(name)] {
		return nil // refused, as Pigeonhole does, with only a warning there
	}
	m := r.editable()
	fields := m.Header.FieldsByKey(name)
	n := fields.Len()
	for i := 1; fields.Next(); i++ {
		if x.index > 0 {
			at := x.index
			if x.last {
				at = n - x.index + 1
			}
			if i != at {
				continue
			}
		}
		if x.patterns != nil {
			raw, err := fields.Raw()
			v := fields.Value()
			if err == nil {
				_, v, _ = strings.Cut(string(raw), ":")
			}
			if !r.match(x.m, []string{decodeHeader(strings.TrimRight(v, "\r\n"))}, x.patterns) {
				continue
			}
		}
		m.Size -= len(name) + len(fields.Value()) + 4
		fields.Del()
	}
	return nil
}

func validFieldName(n string) bool {
	return n != "" && strings.IndexFunc(n, func(r rune) bool { return r <= ' ' || r > '~' || r == ':' }) < 0
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func init() {
	commands["addheader"] = cmdSpec{ext: "editheader", args: argSpec{
		tags: []tagSpec{{name: "last"}}, pos: []valKind{valString, valString},
	}, build: func(c *compiler, b *bound) (command, error) {
		x := &addHeaderCmd{name: b.args[0].Strs[0], value: b.args[1].Strs[0], last: b.has("last")}
		if !(c.has("variables") && containsVar(x.name)) && !validFieldName(x.name) {
			return nil, errorf(b.args[0].Pos, "addheader: invalid field name '%s'", x.name)
		}
		return x, nil
	}}
	commands["deleteheader"] = cmdSpec{ext: "editheader", args: argSpec{
		tags: append(append([]tagSpec{}, matchTags...), tagSpec{name: "index", val: valNumber}, tagSpec{name: "last"}),
		pos:  []valKind{valString, valStrings}, optLast: 1,
	}, build: buildDeleteHeader}
}

func buildDeleteHeader(c *compiler, b *bound) (command, error) {
	m, err := c.matcher(b)
	if err != nil {
		return nil, err
	}
	x := &deleteHeaderCmd{m: m, name: b.args[0].Strs[0], last: b.has("last")}
	if len(b.args) == 2 {
		x.patterns = b.args[1].Strs
	}
	if a, ok := b.tags["index"]; ok {
		if a.Num < 1 {
			return nil, errorf(a.Pos, "deleteheader: :index must be 1 or more")
		}
		x.index = int(a.Num)
	} else if x.last {
		return nil, errorf(b.pos, "deleteheader: :last needs :index")
	}
	if !(c.has("variables") && containsVar(x.name)) && !validFieldName(x.name) {
		return nil, errorf(b.args[0].Pos, "deleteheader: invalid field name '%s'", x.name)
	}
	return x, nil
}
