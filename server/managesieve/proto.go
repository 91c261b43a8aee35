package managesieve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The wire forms of RFC 5804 section 4: a command is atoms and strings
// up to CRLF; a string is quoted ("a \"b\"") or a literal ({5+} CRLF
// then five octets; {5} is taken too).

// errSyntax is a command the parser cannot read; the session answers NO
// and goes on.
var errSyntax = errors.New("syntax error")

// maxLine bounds a command line outside literals.
const maxLine = 8192

type reader struct {
	r      *bufio.Reader
	maxLit int
}

// command reads one command line: its words, the first upper-cased.
func (rd *reader) command() ([]string, error) {
	w, err := rd.words()
	return upperFirst(w), err
}

// words reads one line of atoms and strings as they are.
func (rd *reader) words() ([]string, error) {
	var words []string
	n := 0
	for {
		c, err := rd.r.ReadByte()
		if err != nil {
			return nil, err
		}
		n++
		if n > maxLine {
			return nil, fmt.Errorf("%w: line too long", errSyntax)
		}
		switch {
		case c == ' ':
		case c == '\r':
			if b, err := rd.r.ReadByte(); err != nil || b != '\n' {
				return nil, fmt.Errorf("%w: CR without LF", errSyntax)
			}
			return words, nil
		case c == '\n':
			return words, nil
		case c == '"':
			s, err := rd.quoted()
			if err != nil {
				return nil, err
			}
			words = append(words, s)
		case c == '{':
			s, err := rd.literal()
			if err != nil {
				return nil, err
			}
			words = append(words, s)
		default:
			rd.r.UnreadByte()
			words = append(words, rd.atom())
		}
	}
}

func upperFirst(w []string) []string {
	if len(w) > 0 {
		w[0] = strings.ToUpper(w[0])
	}
	return w
}

func (rd *reader) atom() string {
	var b strings.Builder
	for {
		c, err := rd.r.ReadByte()
		if err != nil {
			return b.String()
		}
		if c == ' ' || c == '\r' || c == '\n' {
			rd.r.UnreadByte()
			return b.String()
		}
		if b.Len() < maxLine {
			b.WriteByte(c)
		}
	}
}

func (rd *reader) quoted() (string, error) {
	var b strings.Builder
	for {
		c, err := rd.r.ReadByte()
		if err != nil {
			return "", err
		}
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if c, err = rd.r.ReadByte(); err != nil {
				return "", err
			}
		case '\r', '\n':
			return "", fmt.Errorf("%w: line break in a quoted string", errSyntax)
		}
		if b.Len() >= maxLine {
			return "", fmt.Errorf("%w: quoted string too long", errSyntax)
		}
		b.WriteByte(c)
	}
}

// literal reads {N+} CRLF and N octets.
func (rd *reader) literal() (string, error) {
	spec, err := rd.r.ReadString('}')
	if err != nil || len(spec) > 12 {
		return "", fmt.Errorf("%w: bad literal", errSyntax)
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(spec, "}"), "+"))
	if err != nil || n < 0 {
		return "", fmt.Errorf("%w: bad literal length", errSyntax)
	}
	if n > rd.maxLit {
		return "", fmt.Errorf("literal of %d octets is over the limit of %d", n, rd.maxLit)
	}
	if crlf, err := rd.r.ReadString('\n'); err != nil || strings.TrimRight(crlf, "\r\n") != "" {
		return "", fmt.Errorf("%w: literal length not followed by CRLF", errSyntax)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(rd.r, buf); err != nil {
		return "", err
	}
	return string(buf), nil
}

// quote writes s as a quoted string, or as a literal when it holds
// characters a quoted string cannot.
func quote(s string) string {
	if strings.ContainsAny(s, "\r\n\x00") || len(s) > 1024 {
		return literalOut(s)
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func literalOut(s string) string { return fmt.Sprintf("{%d}\r\n%s", len(s), s) }
