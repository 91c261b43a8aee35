package migrate

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
)

// exampleMatch makes a short string that re matches, to serve as the
// message of a generated rule test. It walks the parsed expression taking
// the shortest branch of each choice, then checks the result against re
// itself; ok is false when that check fails (word boundaries, anchors in
// the middle, classes with no printable member).
func exampleMatch(re *regexp.Regexp) (string, bool) {
	p, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	if !example(&b, p.Simplify(), 0) {
		return "", false
	}
	s := b.String()
	return s, re.MatchString(s)
}

func example(b *strings.Builder, p *syntax.Regexp, depth int) bool {
	if depth > 100 || b.Len() > 4096 {
		return false
	}
	switch p.Op {
	case syntax.OpLiteral:
		b.WriteString(string(p.Rune))
	case syntax.OpCharClass:
		r, ok := classMember(p.Rune)
		if !ok {
			return false
		}
		b.WriteRune(r)
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('x')
	case syntax.OpCapture:
		return example(b, p.Sub[0], depth+1)
	case syntax.OpPlus:
		return example(b, p.Sub[0], depth+1)
	case syntax.OpRepeat:
		for i := 0; i < p.Min; i++ {
			if !example(b, p.Sub[0], depth+1) {
				return false
			}
		}
	case syntax.OpConcat:
		for _, s := range p.Sub {
			if !example(b, s, depth+1) {
				return false
			}
		}
	case syntax.OpAlternate:
		return example(b, p.Sub[0], depth+1)
	case syntax.OpNoMatch:
		return false
	}
	// Star, Quest, empty matches and anchors add nothing.
	return true
}

// classMember picks a printable member of a character class (pairs of
// ranges), preferring a letter so that a header value stays readable.
func classMember(ranges []rune) (rune, bool) {
	for _, want := range "ax0 -" {
		for i := 0; i+1 < len(ranges); i += 2 {
			if ranges[i] <= want && want <= ranges[i+1] {
				return want, true
			}
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1] && r < ranges[i]+256; r++ {
			if unicode.IsPrint(r) {
				return r, true
			}
		}
	}
	return 0, false
}
