package sieve

// The vacation action (RFC 5230). The script only asks for a reply; the
// deliverer applies the rules of section 4 (no reply to lists, bulk,
// auto-submitted mail or the null sender; once per sender within the
// period), since those depend on state the script does not hold.

// The period bounds, Pigeonhole's defaults: :days under the minimum is
// raised to it; there is no maximum.
const (
	day              = 86400
	vacationDefault  = 7 * day
	vacationMinimum  = 1 * day
	vacationMIMEMark = "<MIME>"
)

type vacationCmd struct {
	days                  int64
	hasDays               bool
	subject, from, handle string
	addresses             []string
	mime                  bool
	reason                string
}

func (x *vacationCmd) exec(r *run) error {
	v := &Vacation{
		Seconds: vacationDefault, Subject: r.expand(x.subject), From: r.expand(x.from),
		Addresses: r.expandList(x.addresses), Mime: x.mime, Reason: r.expand(x.reason),
	}
	if x.hasDays {
		v.Seconds = max(x.days*day, vacationMinimum)
	}
	v.Handle = r.expand(x.handle)
	if x.handle == "" {
		// RFC 5230 section 4.2: without :handle, the reply is told apart
		// by its reason, subject, from and mime, taken as written in the
		// script (variables unexpanded), as Pigeonhole does.
		v.Handle = x.reason + orMark(x.subject, "<default-subject>") + orMark(x.from, "<default-from>")
		if v.Mime {
			v.Handle += vacationMIMEMark
		} else {
			v.Handle += "<NO-MIME>"
		}
	}
	return r.add(Action{Kind: ActVacation, Vacation: v})
}

func orMark(s, mark string) string {
	if s == "" {
		return mark
	}
	return s
}

func init() {
	commands["vacation"] = cmdSpec{ext: "vacation", args: argSpec{
		tags: []tagSpec{
			{name: "days", val: valNumber}, {name: "subject", val: valString},
			{name: "from", val: valString}, {name: "addresses", val: valStrings},
			{name: "mime"}, {name: "handle", val: valString},
		},
		pos: []valKind{valString},
	}, build: func(c *compiler, b *bound) (command, error) {
		x := &vacationCmd{
			subject: b.str("subject"), from: b.str("from"), handle: b.str("handle"),
			mime: b.has("mime"), reason: b.args[0].Strs[0],
		}
		if d, ok := b.tags["days"]; ok {
			x.days, x.hasDays = d.Num, true
		}
		if a, ok := b.tags["addresses"]; ok {
			x.addresses = a.Strs
		}
		if x.from != "" && !(c.has("variables") && containsVar(x.from)) {
			if _, err := redirectAddress(x.from); err != nil {
				return nil, errorf(b.tags["from"].Pos, "vacation: invalid :from address '%s'", x.from)
			}
		}
		return x, nil
	}}
}
