package sieve

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
)

// The :regex match type (draft-ietf-sieve-regex, which Pigeonhole
// enables by default, so scripts brought from Dovecot use it): POSIX
// extended expressions, leftmost-longest as regcomp gives them; under
// i;ascii-casemap the ASCII letters of both sides are folded (only
// those: "É" is not "é"). On a match, ${0} is the matched text and
// ${1}... the groups, in the value's own case.

// regexCache holds compiled expressions, shared by every run of every
// script (a key with variables is compiled once per distinct value).
var regexCache sync.Map // "i"/"o" + pattern -> *regexp.Regexp

const maxRegexCache = 10000

var regexCount int64
var regexMu sync.Mutex

func compileRegex(pattern string, fold bool) (*regexp.Regexp, error) {
	key := "o" + pattern
	if fold {
		key = "i" + pattern
	}
	if re, ok := regexCache.Load(key); ok {
		return re.(*regexp.Regexp), nil
	}
	if fold {
		pattern = asciiLower(pattern)
	}
	tree, err := syntax.Parse(pattern, syntax.POSIX)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(tree.String())
	if err != nil {
		return nil, err
	}
	re.Longest()
	regexMu.Lock()
	if regexCount < maxRegexCache {
		regexCount++
		regexCache.Store(key, re)
	}
	regexMu.Unlock()
	return re, nil
}

// checkRegexKeys refuses, at compile time, keys that are not valid
// expressions (those with variables are checked when they are known).
func (c *compiler) checkRegexKeys(m matcher, b *bound) error {
	if m.mt != mtRegex || len(b.args) == 0 {
		return nil
	}
	keys := b.args[len(b.args)-1]
	for _, k := range keys.Strs {
		if c.has("variables") && strings.Contains(k, "${") {
			continue
		}
		if _, err := compileRegex(k, m.cmp == cmpCasemap); err != nil {
			return errorf(keys.Pos, "invalid regular expression '%s': %v", k, err)
		}
	}
	return nil
}

// matchRegex matches v against the expression k; a key that turns out
// invalid once its variables are expanded matches nothing.
func (r *run) matchRegex(m matcher, v, k string) bool {
	re, err := compileRegex(k, m.cmp == cmpCasemap)
	if err != nil {
		return false
	}
	subject := v
	if m.cmp == cmpCasemap {
		subject = asciiLower(v) // same length: the indexes hold for v
	}
	idx := re.FindStringSubmatchIndex(subject)
	if idx == nil {
		return false
	}
	if r.s.requires["variables"] {
		groups := make([]string, len(idx)/2)
		for i := range groups {
			if idx[2*i] >= 0 {
				groups[i] = v[idx[2*i]:idx[2*i+1]]
			}
		}
		r.matchVars = groups
	}
	return true
}
