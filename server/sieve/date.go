package sieve

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// The date and currentdate tests (RFC 5260): a part of the date in a
// header, or of now, in the zone asked for (:zone "+0100"), in the
// header's own (:originalzone) or else in the server's.

var datePartNames = []string{"year", "month", "day", "date", "julian", "hour", "minute", "second", "time", "iso8601", "std11", "zone", "weekday"}

// mjdEpoch is day 0 of the Modified Julian Date the julian part counts.
var mjdEpoch = time.Date(1858, 11, 17, 0, 0, 0, 0, time.UTC)

// datePart formats one part of t (RFC 5260 section 4.2).
func datePart(t time.Time, part string) string {
	switch part {
	case "year":
		return fmt.Sprintf("%04d", t.Year())
	case "month":
		return fmt.Sprintf("%02d", int(t.Month()))
	case "day":
		return fmt.Sprintf("%02d", t.Day())
	case "date":
		return t.Format("2006-01-02")
	case "julian":
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return strconv.Itoa(int(d.Sub(mjdEpoch).Hours() / 24))
	case "hour":
		return fmt.Sprintf("%02d", t.Hour())
	case "minute":
		return fmt.Sprintf("%02d", t.Minute())
	case "second":
		return fmt.Sprintf("%02d", t.Second())
	case "time":
		return t.Format("15:04:05")
	case "iso8601":
		return t.Format("2006-01-02T15:04:05Z07:00")
	case "std11":
		return t.Format("Mon, 02 Jan 2006 15:04:05 -0700")
	case "zone":
		return t.Format("-0700")
	case "weekday":
		return strconv.Itoa(int(t.Weekday()))
	}
	return ""
}

// parseZone reads a zone given as +hhmm or -hhmm.
func parseZone(z string) (*time.Location, bool) {
	if len(z) != 5 || (z[0] != '+' && z[0] != '-') {
		return nil, false
	}
	h, err1 := strconv.Atoi(z[1:3])
	m, err2 := strconv.Atoi(z[3:5])
	if err1 != nil || err2 != nil || h > 23 || m > 59 {
		return nil, false
	}
	off := h*3600 + m*60
	if z[0] == '-' {
		off = -off
	}
	return time.FixedZone(z, off), true
}

type dateTest struct {
	m        matcher
	current  bool
	header   string
	part     string
	zone     string // "" for the server's
	original bool
	keys     []string
}

func (t *dateTest) eval(r *run) (bool, error) {
	var when time.Time
	if t.current {
		when = r.env.Now
	} else {
		var ok bool
		if when, ok = r.headerDate(r.expand(t.header)); !ok {
			return false, nil
		}
	}
	switch {
	case t.original && !t.current:
	case t.zone != "":
		loc, ok := parseZone(r.expand(t.zone))
		if !ok {
			return false, nil
		}
		when = when.In(loc)
	default:
		when = when.In(r.zone())
	}
	part := datePart(when, strings.ToLower(r.expand(t.part)))
	return r.match(t.m, []string{part}, t.keys), nil
}

func (r *run) zone() *time.Location {
	if r.env.Zone != nil {
		return r.env.Zone
	}
	return time.Local
}

// headerDate reads the date of the first field called name; in a
// Received field it follows the last semicolon (RFC 5260 section 4).
func (r *run) headerDate(name string) (time.Time, bool) {
	vals := r.env.Msg.rawHeaderValues(name)
	if len(vals) == 0 {
		return time.Time{}, false
	}
	v := vals[0]
	if strings.EqualFold(name, "received") {
		i := strings.LastIndexByte(v, ';')
		if i < 0 {
			return time.Time{}, false
		}
		v = v[i+1:]
	}
	t, err := mail.ParseDate(strings.TrimSpace(v))
	return t, err == nil
}

func buildDate(current bool) func(c *compiler, b *bound) (test, error) {
	return func(c *compiler, b *bound) (test, error) {
		m, err := c.matcher(b)
		if err != nil {
			return nil, err
		}
		t := &dateTest{m: m, current: current, zone: b.str("zone"), original: b.has("originalzone")}
		args := b.args
		if !current {
			t.header, args = args[0].Strs[0], args[1:]
		}
		t.part, t.keys = args[0].Strs[0], args[1].Strs
		if !(c.has("variables") && containsVar(t.part)) && !knownDatePart(t.part) {
			return nil, errorf(args[0].Pos, "%s: unknown date part '%s'", b.name, t.part)
		}
		if t.zone != "" && !(c.has("variables") && containsVar(t.zone)) {
			if _, ok := parseZone(t.zone); !ok {
				return nil, errorf(b.tags["zone"].Pos, "%s: invalid zone '%s'", b.name, t.zone)
			}
		}
		return t, nil
	}
}

func knownDatePart(p string) bool {
	for _, n := range datePartNames {
		if strings.EqualFold(n, p) {
			return true
		}
	}
	return false
}

func init() {
	zoneTag := tagSpec{name: "zone", val: valString, group: "zone"}
	tests["date"] = testSpec{ext: "date", args: argSpec{
		tags: append(append([]tagSpec{}, matchTags...), zoneTag, tagSpec{name: "originalzone", group: "zone"}),
		pos:  []valKind{valString, valString, valStrings},
	}, build: buildDate(false)}
	tests["currentdate"] = testSpec{ext: "date", args: argSpec{
		tags: append(append([]tagSpec{}, matchTags...), zoneTag),
		pos:  []valKind{valString, valStrings},
	}, build: buildDate(true)}
}
