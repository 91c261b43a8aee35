package bayes

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// wordSplitter turns decoded text into word tokens. Words are split on white
// space and a few separators only, keeping inner punctuation ("$1,000",
// "e-mail", "i'm"): what spam does with punctuation is itself a signal, as
// SpamBayes found.
type wordSplitter struct {
	t     *tokens
	o     Options
	prev  string   // previous body word, for pairs
	prev2 string   // the body word before prev, for skip pairs
	urls  []string // URLs met in the text, for urlTokens
	buf   []byte   // a word lower-cased or reshaped, before the set has it

	nwords, caps int // words seen and words written in capitals
	runes, high  int // letters seen and letters outside ASCII
}

// edgePunct is stripped from both ends of a word.
const edgePunct = "\"'`()[]{}<>,.;:!?*-_=~|#^+\\/"

// isEdge is edgePunct as a table: strings.Trim would rebuild its set on
// every call, and this runs for every word of every message.
var isEdge = func() (t [256]bool) {
	for i := 0; i < len(edgePunct); i++ {
		t[edgePunct[i]] = true
	}
	return t
}()

// trimEdge strips edgePunct from both ends of s.
func trimEdge(s string) string {
	i, j := 0, len(s)
	for i < j && isEdge[s[i]] {
		i++
	}
	for j > i && isEdge[s[j-1]] {
		j--
	}
	return s[i:j]
}

// seps are the bytes that separate words.
const seps = "\x00 \t\n\r\f\v/|:<>\"()[]{}=&\\"

// isSepByte is seps as a table, for the same reason as isEdge: split asks
// about every byte of every text part.
var isSepByte = func() (t [256]bool) {
	for i := 0; i < len(seps); i++ {
		t[seps[i]] = true
	}
	return t
}()

// isSep reports whether a byte separates words.
func isSep(c byte) bool { return isSepByte[c] }

// split emits the tokens of text, each prefixed by prefix ("" for the body,
// where pairs are also formed).
func (w *wordSplitter) split(text, prefix string) {
	start := -1
	for i := 0; i <= len(text); i++ {
		if i < len(text) && !isSep(text[i]) {
			if start < 0 {
				if n := urlLen(text[i:]); n > 0 {
					// URLs are covered by urlTokens; their pieces are not words.
					w.addURLs([]string{strings.TrimRight(text[i:i+n], ".,;:!?)'")})
					i += n - 1
					w.prev, w.prev2 = "", ""
					continue
				}
				start = i
			}
			continue
		}
		if start >= 0 {
			w.word(text[start:i], prefix)
			start = -1
		}
	}
}

// addURLs records URLs for urlTokens, up to maxURLs.
func (w *wordSplitter) addURLs(urls []string) {
	for _, u := range urls {
		if len(w.urls) >= maxURLs {
			return
		}
		w.urls = append(w.urls, u)
	}
}

// urlLen returns the length of the URL that s starts with, 0 if none.
func urlLen(s string) int {
	// Every word start comes here: one byte rules out nearly all of them
	// before the three case-folding comparisons.
	if s == "" || (s[0]|0x20 != 'h' && s[0]|0x20 != 'w') {
		return 0
	}
	if !hasPrefixFoldString(s, "http://") && !hasPrefixFoldString(s, "https://") && !hasPrefixFoldString(s, "www.") {
		return 0
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r', '<', '>', '"':
			return i
		}
	}
	return len(s)
}

func hasPrefixFoldString(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func (w *wordSplitter) word(raw, prefix string) {
	word := trimEdge(raw)
	if word == "" {
		return
	}
	if at := strings.IndexByte(word, '@'); at > 0 && strings.IndexByte(word[at:], '.') > 0 {
		w.t.addJoin(prefix, "email:", lowerASCII(trimEdge(word[at+1:])))
		w.prev, w.prev2 = "", ""
		return
	}
	n := len(word)
	letters, upper, digits, high := 0, 0, 0, 0
	for i := 0; i < len(word); i++ {
		c := word[i]
		switch {
		case c >= 0x80:
			high++
		case 'A' <= c && c <= 'Z':
			letters++
			upper++
		case 'a' <= c && c <= 'z':
			letters++
		case '0' <= c && c <= '9':
			digits++
		}
	}
	asciiUpper := upper
	if high > 0 {
		// Count letters and capitals over the whole alphabet, so that
		// Cyrillic or Greek written in capitals is seen as such.
		n, letters, upper = 0, 0, 0
		for _, r := range word {
			n++
			if r >= 0x80 {
				w.high++
			}
			if unicode.IsLetter(r) {
				letters++
				if unicode.IsUpper(r) {
					upper++
				}
			}
		}
	}
	w.runes += n
	w.nwords++
	if upper >= 3 && upper == letters {
		w.caps++
	}
	if n < minWord {
		return
	}
	// tok is built in w.buf when it is not a piece of the text as it
	// stands (lower-cased, reshaped): view says so, and the set then
	// hands back its own copy, or makes one only for a word it has not
	// seen in this message.
	var tok string
	view := true
	switch {
	case n > maxWord && w.o.Buckets:
		r, _ := utf8.DecodeRuneInString(word)
		w.buf = append(append(append(w.buf[:0], "long:"...), strings.ToLower(string(r))...), ':')
		w.buf = strconv.AppendInt(w.buf, int64(n/10*10), 10)
		tok = viewOf(w.buf)
	case digits > 0 && w.o.Buckets && digits*2 >= n:
		w.buf = appendDigitShape(w.buf[:0], word)
		tok = viewOf(w.buf)
	case high > 0:
		tok, view = strings.ToLower(word), false
	case asciiUpper > 0:
		w.buf = appendLowerASCII(w.buf[:0], word)
		tok = viewOf(w.buf)
	default:
		tok, view = word, false // a substring of the text: no allocation
	}
	addWord := prefix != "" || !w.o.NoWords || !w.o.Pairs
	switch {
	case prefix != "":
		w.t.addJoin(prefix, tok)
	case view && addWord:
		tok = w.t.addView(tok)
	case view:
		tok = strings.Clone(tok) // kept as prev for the pairs
	case addWord:
		w.t.add(tok)
	}
	if w.o.KeepCase && upper >= 3 && upper == letters {
		w.t.addJoin(prefix, "caps:", tok)
	}
	if prefix == "" && w.o.Pairs {
		if w.prev != "" {
			w.t.addJoin("pair:", w.prev, " ", tok)
		}
		if w.o.Triples && w.prev2 != "" {
			w.t.addJoin("triple:", w.prev2, " ", w.prev, " ", tok)
		}
		if w.o.SkipPairs && w.prev2 != "" {
			w.t.addJoin("skip:", w.prev2, " ", tok)
		}
		w.prev2, w.prev = w.prev, tok
	}
}

// appendLowerASCII appends s, which is ASCII, lower-cased.
func appendLowerASCII(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendDigitShape appends word with every digit written as 'd' and runs
// longer than four collapsed, so that prices, phone numbers and dates keep
// their shape but not their value.
func appendDigitShape(b []byte, word string) []byte {
	b = append(b, "num:"...)
	run := 0
	for i := 0; i < len(word); i++ {
		c := word[i]
		if '0' <= c && c <= '9' {
			run++
			if run <= 4 {
				b = append(b, 'd')
			} else if run == 5 {
				b = append(b, '+')
			}
			continue
		}
		run = 0
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// finish emits the tokens that describe the text as a whole: how much of it
// is in capitals and how much outside ASCII.
func (w *wordSplitter) finish() {
	if w.nwords >= 10 {
		w.t.add("caps%:" + strconv.Itoa(w.caps*10/w.nwords))
	}
	if w.runes >= 50 {
		w.t.add("8bit%:" + strconv.Itoa(w.high*10/w.runes))
	}
	if w.nwords == 0 {
		w.t.add("body:empty")
	}
}
