package sieve

import "strings"

// The :matches wildcards (RFC 5228 section 2.7.1): '*' is any run of
// octets, '?' exactly one octet (as Pigeonhole counts, even inside a
// UTF-8 character), a backslash makes the next one literal.
// The pattern is cut at its stars into segments; the first is anchored
// at the start, the last at the end and each one between is placed
// leftmost. That is linear in practice and gives the captures RFC 5229
// asks for, each star taking as little as it can from the left.

type globTok struct {
	any bool // '?'
	r   byte
}

// glob matches value against pattern and returns what each wildcard
// took, in order.
func glob(pattern, value string, fold bool) ([]string, bool) {
	segs, stars := globSegments(pattern)
	v := []byte(value)
	eq := func(a, b byte) bool {
		if fold {
			return foldByte(a) == foldByte(b)
		}
		return a == b
	}
	var caps []string
	if stars == 0 {
		if len(segs[0]) != len(v) || !segAt(segs[0], v, 0, eq, &caps) {
			return nil, false
		}
		return caps, true
	}
	first, last := segs[0], segs[len(segs)-1]
	if len(first)+len(last) > len(v) || !segAt(first, v, 0, eq, &caps) {
		return nil, false
	}
	pos := len(first)
	for _, seg := range segs[1 : len(segs)-1] {
		at := -1
		for i := pos; i+len(seg) <= len(v)-len(last); i++ {
			if segAt(seg, v, i, eq, nil) {
				at = i
				break
			}
		}
		if at < 0 {
			return nil, false
		}
		caps = append(caps, string(v[pos:at]))
		segAt(seg, v, at, eq, &caps)
		pos = at + len(seg)
	}
	end := len(v) - len(last)
	if end < pos || !segAt(last, v, end, eq, nil) {
		return nil, false
	}
	caps = append(caps, string(v[pos:end]))
	segAt(last, v, end, eq, &caps)
	return caps, true
}

// segAt says whether seg matches v at i, appending what each '?' took.
func segAt(seg []globTok, v []byte, i int, eq func(a, b byte) bool, caps *[]string) bool {
	if i+len(seg) > len(v) {
		return false
	}
	for j, t := range seg {
		if !t.any && !eq(t.r, v[i+j]) {
			return false
		}
	}
	if caps != nil {
		for j, t := range seg {
			if t.any {
				*caps = append(*caps, string(v[i+j:i+j+1]))
			}
		}
	}
	return true
}

// globSegments cuts a pattern at its stars; runs of stars count as one
// boundary each but leave empty segments between them.
func globSegments(p string) ([][]globTok, int) {
	segs := [][]globTok{nil}
	stars := 0
	esc := false
	for i := 0; i < len(p); i++ {
		r := p[i]
		switch {
		case esc:
			segs[len(segs)-1] = append(segs[len(segs)-1], globTok{r: r})
			esc = false
		case r == '\\':
			esc = true
		case r == '*':
			segs = append(segs, nil)
			stars++
		case r == '?':
			segs[len(segs)-1] = append(segs[len(segs)-1], globTok{any: true})
		default:
			segs[len(segs)-1] = append(segs[len(segs)-1], globTok{r: r})
		}
	}
	return segs, stars
}

func foldByte(r byte) byte {
	if r >= 'A' && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// quoteWildcards escapes the characters :matches treats specially
// (the :quotewildcard modifier of RFC 5229).
func quoteWildcards(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`)
	return r.Replace(s)
}
