package engine

import "strings"

// findURLs returns up to limit URLs in text: runs starting with http://,
// https:// or www. (any case) up to the first character that cannot be in
// a bare URL. A hand scan rather than a regexp: it runs over every body and
// is the hottest loop of a dry run.
func findURLs(text string, limit int) []string {
	var out []string
	for i := 0; i < len(text) && len(out) < limit; {
		j := nextURLStart(text, i)
		if j < 0 {
			break
		}
		end := j
		for end < len(text) && urlChar(text[end]) {
			end++
		}
		if u := text[j:end]; len(u) > len("www.") && !strings.HasSuffix(strings.ToLower(u), "://") {
			out = append(out, u)
		}
		i = max(end, j+1)
	}
	return out
}

// nextURLStart finds the next "http://", "https://" or "www." at a word
// start, from i.
func nextURLStart(text string, i int) int {
	for ; i < len(text); i++ {
		c := text[i] | 0x20
		if c != 'h' && c != 'w' {
			continue
		}
		if i > 0 && isWordByte(text[i-1]) {
			continue
		}
		rest := text[i:]
		if hasPrefixFold(rest, "http://") || hasPrefixFold(rest, "https://") || hasPrefixFold(rest, "www.") {
			return i
		}
	}
	return -1
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z'
}

// urlChar reports whether c may appear in a bare URL in text. Bytes of
// non-ASCII characters are kept, so that internationalised host names
// (www.bücher.example) come out whole.
func urlChar(c byte) bool {
	if c <= ' ' || c == 0x7f {
		return false
	}
	switch c {
	case '<', '>', '"', '\'', '`', '{', '}', '|', '\\', '^', '[', ']':
		return false
	}
	return true
}
