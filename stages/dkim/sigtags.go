package dkim

import (
	"errors"
	"fmt"
	"strings"
)

// sigInfo is what the stage reads itself from a DKIM-Signature field before
// handing the message to go-msgauth: the tags that name the signature in the
// facts, and the syntax checks go-msgauth does not make.
type sigInfo struct {
	Domain    string // d=, whitespace removed
	Selector  string // s=
	Algorithm string // a=
	BodyLimit bool   // l= present
	Err       error  // syntax error that makes the signature a permerror
}

// parseTagList splits an RFC 6376 section 3.2 tag-list ("a=b; c=d") into a
// map. Folding whitespace around names and values is removed. A duplicate
// tag makes the whole list invalid (section 3.2), as does a tag without "="
// or with a name that is not ALPHA *(ALPHA / DIGIT / "_").
func parseTagList(s string) (map[string]string, error) {
	tags := make(map[string]string)
	var first error
	fail := func(err error) {
		if first == nil {
			first = err
		}
	}
	for _, part := range strings.Split(s, ";") {
		if strings.TrimSpace(part) == "" {
			continue // a trailing ";" is allowed
		}
		name, value, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		switch _, dup := tags[name]; {
		case !ok:
			fail(fmt.Errorf("tag without '=': %q", strings.TrimSpace(part)))
		case !validTagName(name):
			fail(fmt.Errorf("invalid tag name %q", name))
		case dup:
			fail(fmt.Errorf("duplicate tag %q", name))
		default:
			tags[name] = strings.TrimSpace(value)
		}
	}
	// The well-formed tags are returned even on error, so that a broken
	// signature can still be named in the results.
	return tags, first
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

// removeFWS deletes folding whitespace inside a tag value (a base64 b= or a
// folded d= may contain it).
func removeFWS(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}

var errNoDomain = errors.New("missing d= tag")

// parseSignature reads the naming tags of one DKIM-Signature field value.
func parseSignature(value string) sigInfo {
	tags, err := parseTagList(value)
	si := sigInfo{
		Domain:    strings.ToLower(removeFWS(tags["d"])),
		Selector:  strings.ToLower(removeFWS(tags["s"])),
		Algorithm: strings.ToLower(removeFWS(tags["a"])),
	}
	_, si.BodyLimit = tags["l"]
	switch {
	case err != nil:
		si.Err = fmt.Errorf("malformed tag-list: %w", err)
	case si.Domain == "":
		si.Err = errNoDomain
	case !validName(si.Domain):
		si.Err = fmt.Errorf("invalid d= syntax %q: %w", si.Domain, errBadName)
	case si.Selector != "" && !validName(si.Selector):
		si.Err = fmt.Errorf("invalid s= syntax %q: %w", si.Selector, errBadName)
	}
	return si
}
