package sieve

import (
	"strings"
)

// tokKind says what a token is (RFC 5228 section 8.1).
type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokTag
	tokNumber
	tokString
	tokPunct // one of [ ] ( ) { } , ;
)

// token is one lexical unit; text holds the identifier, tag name
// (without the colon), decoded string or punctuation character.
type token struct {
	kind tokKind
	text string
	num  int64
	pos  Pos
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of script"
	case tokIdent:
		return "identifier " + t.text
	case tokTag:
		return "tag :" + t.text
	case tokNumber:
		return "number"
	case tokString:
		return "string"
	}
	return "'" + t.text + "'"
}

// maxNumber bounds numbers so that a quantifier cannot overflow.
const maxNumber = 1<<53 - 1

// lexer turns a script into tokens, tracking line and column.
type lexer struct {
	src       string
	off       int
	line, col int
}

func newLexer(src string) *lexer { return &lexer{src: src, line: 1, col: 1} }

func (l *lexer) pos() Pos { return Pos{l.line, l.col} }

func (l *lexer) peekByte(n int) byte {
	if l.off+n < len(l.src) {
		return l.src[l.off+n]
	}
	return 0
}

// advance moves over n bytes, counting lines.
func (l *lexer) advance(n int) {
	for i := 0; i < n && l.off < len(l.src); i++ {
		if l.src[l.off] == '\n' {
			l.line++
			l.col = 1
		} else if l.src[l.off]&0xC0 != 0x80 { // columns count characters
			l.col++
		}
		l.off++
	}
}

// next returns the next token.
func (l *lexer) next() (token, error) {
	if err := l.skipSpace(); err != nil {
		return token{}, err
	}
	p := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tokEOF, pos: p}, nil
	}
	c := l.src[l.off]
	switch {
	case strings.IndexByte("[](){},;", c) >= 0:
		l.advance(1)
		return token{kind: tokPunct, text: string(c), pos: p}, nil
	case c == ':':
		l.advance(1)
		id := l.ident()
		if id == "" {
			return token{}, errorf(p, "expected a tag name after ':'")
		}
		return token{kind: tokTag, text: id, pos: p}, nil
	case c == '"':
		s, err := l.quoted()
		return token{kind: tokString, text: s, pos: p}, err
	case isDigit(c):
		return l.number(p)
	case isAlpha(c) || c == '_':
		id := l.ident()
		if strings.EqualFold(id, "text") && l.peekByte(0) == ':' {
			l.advance(1)
			s, err := l.multiline(p)
			return token{kind: tokString, text: s, pos: p}, err
		}
		return token{kind: tokIdent, text: id, pos: p}, nil
	}
	return token{}, errorf(p, "unexpected character %q", rune(c))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// skipSpace passes white space and both kinds of comment.
func (l *lexer) skipSpace() error {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			l.advance(1)
		case c == '#':
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.advance(1)
			}
		case c == '/' && l.peekByte(1) == '*':
			p := l.pos()
			end := strings.Index(l.src[l.off+2:], "*/")
			if end < 0 {
				return errorf(p, "unterminated comment")
			}
			l.advance(end + 4)
		default:
			return nil
		}
	}
	return nil
}

func (l *lexer) ident() string {
	start := l.off
	for l.off < len(l.src) {
		c := l.src[l.off]
		if !isAlpha(c) && c != '_' && !(isDigit(c) && l.off > start) {
			break
		}
		l.advance(1)
	}
	return l.src[start:l.off]
}

// number reads digits and an optional K, M or G quantifier.
func (l *lexer) number(p Pos) (token, error) {
	var n int64
	for l.off < len(l.src) && isDigit(l.src[l.off]) {
		n = n*10 + int64(l.src[l.off]-'0')
		if n > maxNumber {
			return token{}, errorf(p, "number too large")
		}
		l.advance(1)
	}
	var mul int64 = 1
	switch l.peekByte(0) {
	case 'k', 'K':
		mul = 1 << 10
	case 'm', 'M':
		mul = 1 << 20
	case 'g', 'G':
		mul = 1 << 30
	}
	if mul > 1 {
		l.advance(1)
		if n > maxNumber/mul {
			return token{}, errorf(p, "number too large")
		}
		n *= mul
	}
	return token{kind: tokNumber, num: n, pos: p}, nil
}

// quoted reads a quoted string (RFC 5228 section 2.4.2): a backslash
// takes the next character literally.
func (l *lexer) quoted() (string, error) {
	p := l.pos()
	l.advance(1)
	var b strings.Builder
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch c {
		case '"':
			l.advance(1)
			return b.String(), nil
		case '\\':
			if l.off+1 >= len(l.src) {
				return "", errorf(p, "unterminated string")
			}
			b.WriteByte(l.src[l.off+1])
			l.advance(2)
		default:
			b.WriteByte(c)
			l.advance(1)
		}
	}
	return "", errorf(p, "unterminated string")
}

// multiline reads the text: form (RFC 5228 section 2.4.2): lines up to
// one holding a single dot, with a leading doubled dot undone.
func (l *lexer) multiline(p Pos) (string, error) {
	for l.off < len(l.src) && (l.src[l.off] == ' ' || l.src[l.off] == '\t') {
		l.advance(1)
	}
	switch {
	case l.peekByte(0) == '#':
		for l.off < len(l.src) && l.src[l.off] != '\n' {
			l.advance(1)
		}
	case l.peekByte(0) == '\r' && l.peekByte(1) == '\n', l.peekByte(0) == '\n':
	default:
		return "", errorf(l.pos(), "expected end of line after text:")
	}
	if l.peekByte(0) == '\r' {
		l.advance(1)
	}
	l.advance(1) // the newline
	var b strings.Builder
	for l.off < len(l.src) {
		end := strings.IndexByte(l.src[l.off:], '\n')
		if end < 0 {
			break
		}
		line := strings.TrimSuffix(l.src[l.off:l.off+end], "\r")
		l.advance(end + 1)
		if line == "." {
			return b.String(), nil
		}
		// Every line ends in CRLF, whatever the script file used, as
		// Pigeonhole reads it.
		b.WriteString(strings.TrimPrefix(line, "."))
		b.WriteString("\r\n")
	}
	return "", errorf(p, "unterminated multi-line string")
}
