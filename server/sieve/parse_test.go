package sieve

import (
	"errors"
	"strings"
	"testing"
)

func TestCompileErrorsHavePositions(t *testing.T) {
	cases := []struct {
		src  string
		line int
		col  int
		msg  string
	}{
		{"keep;\nfoo;", 2, 1, "unknown command 'foo'"},
		{"if true {\n  keep;\n", 3, 1, "expected '}'"},
		{"require \"fileinto\";\n  fileinto :bogus \"x\";", 2, 12, "unknown tagged argument ':bogus'"},
		{"if header :is \"a\" \"b\" { discard; }\nelse { keep }", 2, 13, "expected ';' or '{'"},
		{"redirect \"x\n", 1, 10, "unterminated string"},
		{"/* open", 1, 1, "unterminated comment"},
		{"set \"a\" \"b\";", 1, 1, "needs require \"variables\""},
		{"keep; @", 1, 7, "unexpected character"},
	}
	for _, c := range cases {
		_, err := Compile(c.src, Limits{})
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: want *Error, got %v", c.src, err)
			continue
		}
		if e.Pos.Line != c.line || e.Pos.Col != c.col || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%q: got %v, want %d:%d %q", c.src, err, c.line, c.col, c.msg)
		}
	}
}

func TestLimits(t *testing.T) {
	if _, err := Compile(strings.Repeat("keep;", 100), Limits{ScriptSize: 50}); err == nil {
		t.Error("script over the size limit compiled")
	}
	deep := strings.Repeat("if true {", 40) + strings.Repeat("}", 40)
	if _, err := Compile(deep, Limits{}); err == nil || !strings.Contains(err.Error(), "nesting") {
		t.Errorf("nesting 40 deep: %v", err)
	}
	s, err := Compile(`redirect "a@x.org"; redirect "b@x.org"; redirect "c@x.org";`, Limits{Redirects: 2})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Execute(Env{Msg: ParseMessage([]byte("Subject: x\r\n\r\n"))})
	var re *RuntimeError
	if !errors.As(err, &re) || !res.ImplicitKeep || len(res.Actions) != 0 {
		t.Errorf("three redirects over a limit of two: %v %+v", err, res)
	}
	loop := strings.Repeat(`if anyof(false, false, false, false) { keep; } `, 50)
	s, err = Compile(loop, Limits{Steps: 100})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Execute(Env{}); !errors.As(err, &re) {
		t.Errorf("steps over the limit: %v", err)
	}
}

func TestMultilineDotStuffing(t *testing.T) {
	toks := newLexer("text: # c\r\n..a\r\nb\n.\n")
	tok, err := toks.next()
	if err != nil || tok.text != ".a\r\nb\r\n" {
		t.Fatalf("got %q, %v", tok.text, err)
	}
}

func TestGlobCaptures(t *testing.T) {
	cases := []struct {
		pat, val string
		ok       bool
		caps     []string
	}{
		{"[*] *", "[acme-users] [fwd] version 1.0 is out", true, []string{"acme-users", "[fwd] version 1.0 is out"}},
		{"*@*", "a@b@c", true, []string{"a", "b@c"}},
		{"a?c", "abc", true, []string{"b"}},
		{"a?c", "ac", false, nil},
		{`a\*c`, "a*c", true, nil},
		{`a\*c`, "abc", false, nil},
		{"*", "", true, []string{""}},
		{"A*", "abc", true, []string{"bc"}},
		{"x*y*z", "xaaybbz", true, []string{"aa", "bb"}},
		{"x*y*z", "xaaybb", false, nil},
	}
	for _, c := range cases {
		caps, ok := glob(c.pat, c.val, true)
		if ok != c.ok || strings.Join(caps, "|") != strings.Join(c.caps, "|") {
			t.Errorf("glob(%q, %q) = %q %v, want %q %v", c.pat, c.val, caps, ok, c.caps, c.ok)
		}
	}
}
