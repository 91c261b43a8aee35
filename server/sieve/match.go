package sieve

import (
	"strconv"
	"strings"
)

// Comparators (RFC 5228 section 2.7.3, RFC 4790) and match types
// (:is, :contains, :matches; :value and :count of RFC 5231).

type comparator int

const (
	cmpCasemap comparator = iota // i;ascii-casemap, the default
	cmpOctet                     // i;octet
	cmpNumeric                   // i;ascii-numeric
)

type matchType int

const (
	mtIs matchType = iota
	mtContains
	mtMatches
	mtValue
	mtCount
)

// matcher is the comparator, match type and relational operator a test
// was given.
type matcher struct {
	cmp comparator
	mt  matchType
	rel string // gt ge lt le eq ne for :value and :count
}

// matchTags are the tags every comparing test takes.
var matchTags = []tagSpec{
	{name: "comparator", val: valString},
	{name: "is", group: "match"},
	{name: "contains", group: "match"},
	{name: "matches", group: "match"},
	{name: "value", val: valString, ext: "relational", group: "match"},
	{name: "count", val: valString, ext: "relational", group: "match"},
}

// matcher builds the matcher from a test's tags.
func (c *compiler) matcher(b *bound) (matcher, error) {
	var m matcher
	switch name := strings.ToLower(b.str("comparator")); name {
	case "", "i;ascii-casemap":
	case "i;octet":
		m.cmp = cmpOctet
	case "i;ascii-numeric":
		if !c.has("comparator-i;ascii-numeric") {
			return m, errorf(b.tags["comparator"].Pos, "comparator %s needs require \"comparator-i;ascii-numeric\"", name)
		}
		m.cmp = cmpNumeric
	default:
		return m, errorf(b.tags["comparator"].Pos, "unknown comparator '%s'", name)
	}
	switch b.group["match"] {
	case "contains":
		m.mt = mtContains
	case "matches":
		m.mt = mtMatches
	case "value", "count":
		m.mt = mtValue
		if b.group["match"] == "count" {
			m.mt = mtCount
		}
		m.rel = strings.ToLower(b.str(b.group["match"]))
		switch m.rel {
		case "gt", "ge", "lt", "le", "eq", "ne":
		default:
			return m, errorf(b.tags[b.group["match"]].Pos, "invalid relational operator '%s'", m.rel)
		}
	}
	if m.cmp == cmpNumeric && (m.mt == mtContains || m.mt == mtMatches) {
		return m, errorf(b.pos, "comparator i;ascii-numeric cannot do :%s", b.group["match"])
	}
	return m, nil
}

// match says whether any value matches any key; a successful :matches
// sets the match variables. keys are expanded for variables first.
func (r *run) match(m matcher, values, keys []string) bool {
	if m.mt == mtCount {
		n := strconv.Itoa(len(values))
		for _, k := range keys {
			if relation(m.cmp.compare(n, r.expand(k)), m.rel) {
				return true
			}
		}
		return false
	}
	for _, k := range keys {
		k = r.expand(k)
		for _, v := range values {
			if r.matchOne(m, v, k) {
				return true
			}
		}
	}
	return false
}

func (r *run) matchOne(m matcher, v, k string) bool {
	switch m.mt {
	case mtContains:
		if m.cmp == cmpOctet {
			return strings.Contains(v, k)
		}
		return strings.Contains(asciiLower(v), asciiLower(k))
	case mtMatches:
		caps, ok := glob(k, v, m.cmp == cmpCasemap)
		if ok && r.s.requires["variables"] {
			r.matchVars = append([]string{v}, caps...)
		}
		return ok
	case mtValue:
		return relation(m.cmp.compare(v, k), m.rel)
	}
	return m.cmp.compare(v, k) == 0
}

func relation(c int, rel string) bool {
	switch rel {
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	case "ne":
		return c != 0
	}
	return c == 0
}

// compare orders a and b under the comparator.
func (c comparator) compare(a, b string) int {
	switch c {
	case cmpOctet:
		return strings.Compare(a, b)
	case cmpNumeric:
		return numericCompare(a, b)
	}
	return strings.Compare(asciiLower(a), asciiLower(b))
}

// numericCompare implements i;ascii-numeric (RFC 4790 section 9.1): the
// leading digits as a number, a string without one is positive infinity.
func numericCompare(a, b string) int {
	da, db := leadingDigits(a), leadingDigits(b)
	switch {
	case da == "" && db == "":
		return 0
	case da == "":
		return 1
	case db == "":
		return -1
	}
	da, db = strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
	if len(da) != len(db) {
		if len(da) < len(db) {
			return -1
		}
		return 1
	}
	return strings.Compare(da, db)
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i]
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return strings.Map(func(r rune) rune {
				if r >= 'A' && r <= 'Z' {
					return r + 'a' - 'A'
				}
				return r
			}, s)
		}
	}
	return s
}
