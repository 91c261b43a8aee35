package arc

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// tags is a parsed RFC 6376 section 3.2 tag-list: values with folding
// whitespace removed around them.
type tags map[string]string

// parseTags splits "a=b; c=d". A duplicate tag, a tag without "=", an
// invalid tag name or an empty element other than after a final ";" is
// an error (RFC 6376 section 3.2).
func parseTags(s string) (tags, error) {
	t := tags{}
	parts := strings.Split(s, ";")
	for i, part := range parts {
		if strings.TrimSpace(part) == "" {
			if i == len(parts)-1 {
				continue
			}
			return nil, fmt.Errorf("empty tag")
		}
		name, value, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || !validTagName(name) {
			return nil, fmt.Errorf("malformed tag %q", strings.TrimSpace(part))
		}
		if _, dup := t[name]; dup {
			return nil, fmt.Errorf("duplicate tag %q", name)
		}
		t[name] = strings.TrimSpace(value)
	}
	return t, nil
}

func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '_')) {
			return false
		}
	}
	return true
}

// instance reads i=: a number from 1 to MaxInstances.
func (t tags) instance() (int, error) {
	v, ok := t["i"]
	if !ok {
		return 0, fmt.Errorf("no i= tag")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxInstances {
		return 0, fmt.Errorf("invalid instance i=%q", v)
	}
	return n, nil
}

// require reports the first of names that is missing or empty.
func (t tags) require(names ...string) error {
	for _, n := range names {
		if strings.TrimSpace(t[n]) == "" {
			return fmt.Errorf("missing %s= tag", n)
		}
	}
	return nil
}

// stripWS removes all whitespace, for base64 values (b=, bh=, p=).
func stripWS(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}

// bValue matches the b= tag of a tag-list, to empty its value when the
// signature field itself is hashed (RFC 6376 section 3.7): everything up
// to the next ";" goes, folding included, so "bh=" is never touched.
var bValue = regexp.MustCompile(`(^|;)(\s*b\s*=)[^;]*`)

// withoutB returns the field with the value of its b= tag removed.
func withoutB(f field) field {
	name, value, _ := strings.Cut(f.raw, ":")
	f.raw = name + ":" + bValue.ReplaceAllString(value, "$1$2")
	return f
}

// aarInstance reads the "i=N;" that starts an ARC-Authentication-Results
// value (RFC 8617 section 4.1.1) and returns N and the rest.
func aarInstance(value string) (int, string, error) {
	head, rest, ok := strings.Cut(value, ";")
	name, v, ok2 := strings.Cut(head, "=")
	if !ok || !ok2 || strings.TrimSpace(name) != "i" {
		return 0, "", fmt.Errorf("ARC-Authentication-Results does not start with i=")
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > MaxInstances {
		return 0, "", fmt.Errorf("invalid instance i=%q", strings.TrimSpace(v))
	}
	return n, strings.TrimSpace(rest), nil
}
